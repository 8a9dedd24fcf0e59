"""Write the PDF and DOCX samples of the fictional Northwind Clinic into data/samples/.

The samples are small, made up by the project, and full of concrete facts (days, hours,
amounts, roles) so that questions such as "What is the notice period after probation?"
have one checkable answer on one page. The HTML and Markdown samples are edited in place
(``BY_HAND``); run `make samples` after editing this file. The outputs are committed, and
tests/test_samples.py fails when they are stale. Output is deterministic (fixed dates,
fixed ZIP timestamps) so re-running without edits changes no bytes.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from fpdf import FPDF

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FIXED_DATE = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ORG = "Northwind Clinic"

# Each page: (section heading, [(sub-heading or "", paragraph), ...]).
HANDBOOK: list[tuple[str, list[tuple[str, str]]]] = [
    ("1. Welcome and Scope", [
        ("", "This handbook applies to all employees of Northwind Clinic at the Harbor Street "
             "and Eastgate sites. It takes effect on 1 March 2024 and replaces all earlier "
             "versions. The HR Manager, Dana Whitfield, owns this handbook."),
        ("", "Questions about this handbook go to hr@northwind-clinic.example or to "
             "extension 4100."),
        ("Working Hours", "The standard working week is 38 hours, Monday to Friday. Core "
                          "hours are 9:30 to 15:00; the clinic is open from 7:30 to 19:00."),
        ("Breaks", "Shifts longer than 6 hours include an unpaid lunch break of 30 minutes."),
        ("Overtime", "Overtime must be approved in advance by your line manager. It is "
                     "compensated as time off in lieu within 3 months, or paid at 1.25 "
                     "times the hourly rate. Record all hours in the Rota system."),
    ]),
    ("2. Leave Policy", [
        ("Annual Leave", "Full-time employees receive 25 days of annual leave per calendar "
                         "year, in addition to public holidays. Part-time employees receive "
                         "leave pro rata. Up to 5 unused days may be carried over into the "
                         "next year; carried-over days must be taken by 31 March."),
        ("Requesting Leave", "Request leave in the Rota system at least 4 weeks in advance "
                             "for absences longer than 5 working days, and at least 1 week "
                             "in advance for shorter absences. No more than 2 nurses from the "
                             "same ward may be on leave at the same time."),
        ("Other Leave", "Employees receive 5 days of paid compassionate leave after the death "
                        "of a close relative, and 16 weeks of parental leave at full pay."),
    ]),
    ("3. Sick Leave", [
        ("Reporting Sickness", "If you are sick, phone your line manager by 9:00 on the first "
                               "day of absence. On early shifts, call at least 1 hour before "
                               "the shift starts. E-mail or text messages are not enough."),
        ("Medical Certificates", "You may self-certify absences of up to 3 calendar days. "
                                 "From the 4th day of absence a doctor's certificate is "
                                 "required and must reach HR within 2 working days."),
        ("Sick Pay", "Employees receive full pay for up to 20 days of sickness per calendar "
                     "year, and 80 percent of pay for the following 40 days."),
    ]),
    ("4. Remote Work", [
        ("", "Administrative staff may work remotely for up to 2 days per week with the "
             "written approval of their line manager. Clinical staff cannot work remotely."),
        ("Equipment and Security", "Remote work is only allowed on a clinic laptop connected "
                                   "through the Northwind Connect VPN. Patient records must "
                                   "never be printed at home. A one-time home office "
                                   "allowance of EUR 300 is paid on request."),
        ("Availability", "Remote workers must be reachable by phone and chat during core "
                         "hours (9:30 to 15:00)."),
    ]),
    ("5. Expenses", [
        ("Claims", "Submit expense claims in the Expenses portal within 30 days of the "
                   "expense. Receipts are required for every item above EUR 25. Approved "
                   "claims are paid with the next monthly payroll on the 25th."),
        ("Limits", "Hotel: up to EUR 140 per night. Meals: up to EUR 45 per day. Private "
                   "car: EUR 0.30 per kilometre. Trains: second class. Flights need the "
                   "prior approval of the Director of Operations."),
    ]),
    ("6. Data Protection and Confidentiality", [
        ("", "Patient information is strictly confidential. Access patient records only when "
             "your work requires it. The duty of confidentiality continues after your "
             "employment ends."),
        ("Reporting a Breach", "Report any suspected data breach immediately, and no later "
                               "than 24 hours after discovery, to the Data Protection "
                               "Officer, Marcus Lind (dpo@northwind-clinic.example)."),
        ("Training", "All employees complete the data protection training every year by 31 "
                     "January. Keep your desk clear of patient documents when you leave it."),
    ]),
    ("7. Termination and Notice Periods", [
        ("Probation", "The probation period is 6 months. During probation, either side may "
                      "end the employment with 2 weeks' notice."),
        ("Notice After Probation", "After probation, the notice period is 1 month for less "
                                   "than 2 years of service, 2 months for 2 to 5 years of "
                                   "service, and 3 months for more than 5 years of service. "
                                   "Notice must be given in writing to HR."),
        ("Leaving the Clinic", "Return your laptop, keys and badge on your last working "
                               "day. HR offers an exit interview to every leaver."),
    ]),
]  # fmt: skip


class _HandbookPDF(FPDF):
    """A PDF with a running header and a page-number footer, like a real handbook."""

    def header(self) -> None:
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, f"{ORG} - Employee Handbook", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")


def write_handbook(path: Path) -> None:
    """Write employee-handbook.pdf: one chapter per page, headings set larger than text."""
    pdf = _HandbookPDF(unit="mm", format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(f"{ORG} Employee Handbook")
    pdf.set_author(f"{ORG} HR")
    for index, (chapter, parts) in enumerate(HANDBOOK):
        pdf.add_page()
        if index == 0:
            pdf.set_font("Helvetica", "B", 22)
            pdf.multi_cell(0, 11, f"{ORG} Employee Handbook", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 8, chapter, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for heading, text in parts:
            if heading:
                pdf.set_font("Helvetica", "B", 13)
                pdf.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(0, 5.2, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))


CLASSIFICATION = [
    ("Level", "Examples", "Handling"),
    ("Public", "Opening hours, published leaflets", "No restrictions"),
    ("Internal", "Rotas, internal phone list", "Staff only; no sharing outside the clinic"),
    ("Confidential", "Contracts, salaries, supplier prices", "Need-to-know; encrypt by e-mail"),
    ("Strictly Confidential", "Patient records, test results", "Named staff only; never on USB"),
]

SECURITY_POLICY: list[tuple[str, list[str]]] = [
    ("1. Purpose and Scope", [
        "This policy protects the information of Northwind Clinic and its patients. It "
        "applies to all employees, contractors and volunteers, and to all clinic devices.",
    ]),
    ("2. Data Classification", [
        "All information belongs to one of four classification levels. The owner of a "
        "document sets its level; when in doubt, treat it as Confidential.",
    ]),
    ("3. Passwords", [
        "Passwords must have at least 14 characters.",
        "Multi-factor authentication is required for e-mail and for remote access.",
        "Do not reuse any of your last 10 passwords. Change a password only when you suspect "
        "it is known to someone else.",
        "Accounts are locked after 5 failed sign-in attempts; the IT Service Desk unlocks them.",
        "KeePassXC is the approved password manager.",
    ]),
    ("4. Devices", [
        "Screens lock automatically after 5 minutes without use. All laptops use full-disk "
        "encryption. USB storage devices are blocked unless IT has approved an encrypted model.",
    ]),
    ("5. Incident Reporting", [
        "Report every security incident within 24 hours to the Information Security Officer "
        "(ISO), currently Priya Raman, at security@northwind-clinic.example or extension 4455.",
        "Report a lost or stolen device immediately, at any hour, so that it can be wiped.",
    ]),
    ("6. Review", [
        "The Information Security Officer reviews this policy every year. Version 2.1, "
        "approved by the Board on 12 February 2024.",
    ]),
]  # fmt: skip


def write_security_policy(path: Path) -> None:
    """Write information-security-policy.docx: headings, a bullet list and a table."""
    document = Document()
    properties = document.core_properties
    properties.title, properties.author = "Information Security Policy", ORG
    properties.created = properties.modified = FIXED_DATE
    document.add_paragraph("Information Security Policy", style="Title")
    for heading, paragraphs in SECURITY_POLICY:
        document.add_heading(heading, level=1)
        bullets = heading.startswith("3.")
        for text in paragraphs:
            document.add_paragraph(text, style="List Bullet" if bullets else None)
        if heading.startswith("2."):
            table = document.add_table(rows=0, cols=3)
            table.style = "Table Grid"
            for values in CLASSIFICATION:
                for cell, value in zip(table.add_row().cells, values, strict=True):
                    cell.text = value
    document.save(str(path))
    _fix_zip_timestamps(path)


def _fix_zip_timestamps(path: Path) -> None:
    """Rewrite a ZIP with fixed entry dates so the same content gives the same bytes."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 1, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)


# Written by hand in data/samples/ (text formats need no generator): the folder holds these
# and what ``write_samples`` writes.
BY_HAND = ("it-faq.html", "onboarding-checklist.md")


def write_samples(folder: Path) -> None:
    """Write the PDF and DOCX samples into ``folder`` (the others are in ``BY_HAND``)."""
    write_handbook(folder / "employee-handbook.pdf")
    write_security_policy(folder / "information-security-policy.docx")


if __name__ == "__main__":
    write_samples(SAMPLES)
