"""In-domain questions the benchmark corpus does not answer (written from its documents).

Each is about a topic close to the Python FAQ, the R FAQ or "An Introduction to R" (the
same languages, tools and tasks) that none of them answers: a correct answer is a
refusal. They sit beside the out-of-domain questions (R FAQ questions asked of the Python
FAQ alone).
"""

from __future__ import annotations

IN_DOMAIN = (
    "How do I deploy a Django application to a production web server?",
    "Which Python web framework is fastest for REST APIs?",
    "How do I train a neural network with PyTorch on a GPU?",
    "How do I connect Python to an Oracle database with cx_Oracle?",
    "On what date will Python 4.0 be released?",
    "How do I publish my package to PyPI with twine?",
    "How do I write an iOS app for the iPhone in Python?",
    "How much does a Python Software Foundation membership cost?",
    "How do I turn on strict mode in the mypy type checker?",
    "How do I build a websocket chat server with asyncio?",
    "Which NumPy release first supported Python 3.11?",
    "How do I schedule a Python script to run every night with cron?",
    "How do I build a Shiny dashboard in R?",
    "How do I draw a violin plot with ggplot2?",
    "How do I change the colour theme of RStudio?",
    "How do I connect R to a Spark cluster with sparklyr?",
    "How do I add a column with dplyr's mutate in a tidyverse pipeline?",
    "How do I fit a random forest with the ranger package?",
    "How do I knit an R Markdown document to a Word file?",
    "How do I call Python code from R with reticulate?",
    "How do I run R code on AWS Lambda?",
    "How do I make an interactive map with leaflet in R?",
    "How do I run R loops in parallel with the future package?",
    "How do I join two tables by key with data.table?",
    "How do I set up GitHub Actions to check my R package?",
    "How do I read Parquet files in R with the arrow package?",
    "Which R packages classify images with deep learning?",
    "How do I serve an R model as a REST API with plumber?",
    "How do I scrape web pages in R with rvest?",
    "How do I send an email from an R script?",
    "How do I compute the Gini coefficient of incomes in R?",
    "How many people attended the last useR! conference?",
)
