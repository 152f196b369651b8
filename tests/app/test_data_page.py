"""AppTest: the Data page's upload → mapping → ingest flow, privacy, failure safety, quality and coverage.

Files are uploaded through AppTest's file uploader, as bytes, the way a browser sends them.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpi.catalog import CATALOG
from kpi.workspace import Workspace
from kpi.workspaces import SAMPLE_DIR, load_sample, new_workspace_id, open_workspace, workspace_path
from app_helpers import shown
from app_helpers import sample_file

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/data.py"
TIMEOUT = 120
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "exports"

PAYMENTS = b"customer_id,date,amount\nC1,2025-01-05,100\nC2,2025-01-20,50.5\nC1,2025-02-05,100\n"
PAYMENTS_BAD = b"customer_id,date,amount\nC1,2025-03-05,100\nC2,2025-03-20,n/a\nC3,2025-03-21,20\n"
PAYMENTS_NEXT = b"customer_id,date,amount\nC1,2025-02-05,100\nC3,2025-03-01,75\n"   # one row already loaded
CUSTOMERS = (b"customer_id,signup_date,channel\n"
             b"C1,2025-01-01,organic\nC2,2025-01-15,paid_search\nC3,2025-02-20,referral\n")
# A German accounting export: nothing in it names a dataset column.
EXPORT_DE = "Kunde;Datum;Betrag\nK1;2025-01-03;12.50\nK2;2025-01-09;30\n".encode()
CONTACTS = (b"Email,Full Name,Phone,signup_date\n"
            b"ana@example.com,Ana Kowalski,+1 512 555 5912,2025-01-08\n"
            b"ben@example.com,Ben Okafor,+1 512 555 1234,2025-01-15\n")
PAYMENTS_BY_EMAIL = b"Email,date,amount\nana@example.com,2025-02-01,49\nben@example.com,2025-02-03,19\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


def new_workspace(source: Path | None = None, **frames: pd.DataFrame) -> str:
    wid = new_workspace_id()
    target = workspace_path(wid)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copy(source, target)
    with open_workspace(wid) as ws:
        for name, frame in frames.items():
            ws.load_frame(name, frame)
    return wid


def open_data_page(wid: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["workspace_id"] = wid
    at.session_state["welcome_done"] = True
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "Your data"
    return at


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    uploader = at.file_uploader(key="upload_files")
    for name, data in files:
        uploader.upload(name, data, "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def table(wid: str, dataset: str) -> pd.DataFrame:
    with open_workspace(wid) as ws:
        return ws.df(f'SELECT * FROM "{dataset}"')


def datasets(wid: str) -> list[str]:
    with open_workspace(wid) as ws:
        return ws.datasets()


# -- empty workspace ---------------------------------------------------------------------------------
def test_an_empty_workspace_shows_the_uploader_and_what_to_add_first():
    at = open_data_page(new_workspace())
    assert metric(at, "Datasets loaded") == "0 of 15"
    assert metric(at, "KPIs you can compute") == f"0 of {len(CATALOG)}"
    assert at.file_uploader(key="upload_files").accept_multiple_files
    assert set(at.file_uploader(key="upload_files").allowed_type) >= {".csv", ".tsv", ".gz", ".parquet"}
    assert "Files that unlock the most KPIs: **subscriptions** (18 KPIs)" in at.caption[1].value
    assert at.button(key="data_load_sample").label == "Explore with the sample data instead"
    # the quality tab says there is nothing yet; the coverage tab says what would unlock each KPI
    assert any(i.value.startswith("No data loaded yet") for i in at.info)
    text = markdown_text(at)
    assert "Your data can compute **0 of 54** KPIs" in text
    assert "**Add subscriptions (with mrr)**" in text
    assert ":material/lock: Monthly recurring revenue  \n:gray[Add subscriptions with mrr]" in text


# -- a file that is recognised --------------------------------------------------------------------------
def test_a_recognised_file_is_guessed_previewed_and_loaded():
    wid = new_workspace()
    at = upload(open_data_page(wid), ("payments.csv", PAYMENTS))
    assert at.selectbox(key="upload1_dataset").value == "payments"
    assert "Recognised as **payments**" in markdown_text(at)
    assert at.selectbox(key="upload1_map_payments_amount").value == "amount"
    assert at.selectbox(key="upload1_map_payments_product").value is None
    assert "Guessed: 100 % sure" in [c.value for c in at.caption]
    # the preview shows the rows as they will be stored: typed, canonical columns
    preview = at.dataframe[0].value
    assert list(preview.columns) == ["customer_id", "date", "amount", "product"]
    assert preview["amount"].tolist() == [100.0, 50.5, 100.0]
    assert str(pd.Timestamp(preview["date"].iloc[1]).date()) == "2025-01-20"
    staged = at.session_state["data_staged"]
    temp_copy = next(iter(staged.values())).path
    assert temp_copy.exists() and temp_copy.name == "payments.csv"
    assert datasets(wid) == []          # nothing is stored before Load

    at.button(key="upload1_load").click().run()
    assert not at.exception
    assert [s.value for s in at.success][0] == (
        "Loaded as **payments**: 3 rows stored. It unlocked 3 KPIs: Revenue, Average revenue per paying user, "
        "New paying customers.")
    assert metric(at, "Datasets loaded") == "1 of 15"
    assert metric(at, "Rows stored") == "3"
    assert metric(at, "KPIs you can compute") == f"3 of {len(CATALOG)}"
    assert table(wid, "payments")["amount"].sum() == 250.5
    assert not temp_copy.exists()       # the temporary copy is gone once loaded
    # the coverage matrix moved too
    assert ":green[:material/check_circle:] Revenue" in markdown_text(at)
    # removing the file from the uploader forgets it
    at.file_uploader(key="upload_files").clear().run()
    assert not at.session_state["data_staged"]


def test_a_subscriptions_export_with_yearly_amounts_gets_its_mrr_worked_out():
    if not (FIXTURES / "stripe_subscriptions.csv").exists():
        pytest.skip("the shared Stripe fixture is not on this machine")
    wid = new_workspace()
    export = (FIXTURES / "stripe_subscriptions.csv").read_bytes()
    at = upload(open_data_page(wid), ("stripe_subscriptions.csv", export))
    assert at.selectbox(key="upload1_dataset").value == "subscriptions"
    assert at.selectbox(key="upload1_map_subscriptions_mrr").value is None
    assert at.selectbox(key="upload1_map_subscriptions_amount").value == "Amount"
    assert "Worked out from amount and billing_period" in [c.value for c in at.caption]
    # the export names customers: flagged before anything is stored, dropped unless the user says otherwise
    assert "**Customer Email** — e-mail addresses" in markdown_text(at)
    assert "**Customer Name** — people's names" in markdown_text(at)
    at.button(key="upload1_load").click().run()
    assert not at.exception and at.success
    stored = table(wid, "subscriptions")
    assert len(stored) == 10
    assert round(stored.loc[stored["billing_period"] == "year", "mrr"].min(), 4) == 40.8333
    assert "Customer Email" not in stored.columns and "Customer Name" not in stored.columns


# -- a file that needs a mapping fix ------------------------------------------------------------------
def test_a_file_nobody_recognises_is_mapped_by_hand_and_loaded():
    wid = new_workspace()
    at = upload(open_data_page(wid), ("export.csv", EXPORT_DE))
    guess = at.selectbox(key="upload1_dataset").value
    assert guess != "payments"          # nothing says payments: no guess, or a weak wrong one
    if guess is None:
        assert "Not sure what this file holds" in markdown_text(at)
        assert not [b for b in at.button if b.key == "upload1_load"]

    at.selectbox(key="upload1_dataset").select("payments").run()
    assert "You chose **payments**" in markdown_text(at) or guess is None
    # nothing maps yet: the preview explains what is missing and there is nothing to load
    assert at.warning and "required column" in at.warning[0].value
    assert ":red[Required — pick the column that holds it]" in [c.value for c in at.caption]
    assert not [b for b in at.button if b.key == "upload1_load"]

    at.selectbox(key="upload1_map_payments_customer_id").select("Kunde")
    at.selectbox(key="upload1_map_payments_date").select("Datum")
    at.selectbox(key="upload1_map_payments_amount").select("Betrag")
    at.run()
    assert "Your choice" in [c.value for c in at.caption]
    assert at.dataframe[0].value["amount"].tolist() == [12.5, 30.0]
    at.button(key="upload1_load").click().run()
    assert not at.exception
    stored = table(wid, "payments")
    assert stored["customer_id"].tolist() == ["K1", "K2"] and stored["amount"].sum() == 42.5


def test_personal_data_is_flagged_and_pseudonymised_ids_still_join():
    wid = new_workspace()
    at = upload(open_data_page(wid), ("contacts.csv", CONTACTS))
    # flagged on upload, before a dataset is even chosen
    assert any("look like personal data (Email, Full Name, Phone)" in c.value for c in at.caption)
    # no dataset fits until customer_id is mapped: the e-mail is the id here
    at.selectbox(key="upload1_dataset").select("customers").run()
    at.selectbox(key="upload1_map_customers_customer_id").select("Email").run()
    text = markdown_text(at)
    assert "**Email** — e-mail addresses, mapped to **customer_id**" in text
    assert "**Full Name** — people's names" in text
    assert "**Phone** — phone numbers" in text
    choices = [b for b in at.segmented_control if b.key.startswith("upload1_privacy_")]
    assert [c.value for c in choices] == ["pseudonymise", "drop", "drop"]
    choices[2].set_value("keep")                      # keep the phone number
    at.run()
    preview = at.dataframe[0].value
    assert set(preview["customer_id"]) == {"(pseudonymised)"}
    at.button(key="upload1_load").click().run()
    assert not at.exception
    customers = table(wid, "customers")
    assert all(re.fullmatch(r"[0-9a-f]{16}", v) for v in customers["customer_id"])
    assert "Full Name" not in customers.columns
    assert customers["Phone"].tolist() == ["+1 512 555 5912", "+1 512 555 1234"]
    assert not any("@" in str(v) for v in customers.to_numpy().ravel())

    # a second file keyed by the same e-mails gets the same codes: joins on ids keep working
    at = upload(at, ("payments.csv", PAYMENTS_BY_EMAIL))
    at.selectbox(key="upload2_map_payments_customer_id").select("Email").run()
    choices = [b for b in at.segmented_control if b.key.startswith("upload2_privacy_")]
    assert [c.value for c in choices] == ["pseudonymise"]
    at.button(key="upload2_load").click().run()
    assert not at.exception
    assert set(table(wid, "payments")["customer_id"]) == set(customers["customer_id"])


# -- failure is safe --------------------------------------------------------------------------------------
def test_a_rejected_file_shows_the_reason_and_leaves_the_workspace_as_it_was():
    wid = new_workspace(payments=pd.DataFrame({"customer_id": ["C1"], "date": ["2025-01-05"], "amount": [100.0]}))
    with open_workspace(wid) as ws:
        version = ws.data_version
    at = upload(open_data_page(wid), ("payments.csv", PAYMENTS_BAD))
    assert at.radio(key="upload1_mode").value == "replace"
    at.button(key="upload1_load").click().run()
    assert not at.exception
    message = at.error[0].value
    assert "payments.csv" in message and "line 3" in message and "'n/a'" in message
    assert not [s for s in at.success if "stored" in s.value]
    assert metric(at, "Rows stored") == "1"
    with open_workspace(wid) as ws:
        assert ws.data_version == version
    assert table(wid, "payments")["amount"].tolist() == [100.0]


def test_a_file_that_is_not_a_table_is_refused_before_any_mapping():
    wid = new_workspace()
    at = upload(open_data_page(wid), ("chart.csv", PNG))
    assert "image" in at.error[0].value
    assert not [s for s in at.selectbox if s.key.startswith("upload1_")]
    assert datasets(wid) == []


def test_tsv_gzip_and_parquet_exports_load_like_csv(tmp_path):
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "subs.parquet"
    pq.write_table(pa.table({"customer_id": ["C1", "C2"], "start_date": ["2025-01-01", "2025-02-01"],
                             "mrr": [49.0, 99.0]}), parquet)
    wid = new_workspace()
    at = upload(open_data_page(wid),
                ("customers.tsv", CUSTOMERS.replace(b",", b"\t")),
                ("payments.csv.gz", gzip.compress(PAYMENTS)),
                ("subs.parquet", parquet.read_bytes()))
    assert [at.selectbox(key=f"upload{i}_dataset").value for i in (1, 2, 3)] == \
        ["customers", "payments", "subscriptions"]
    assert "Parquet" in " ".join(c.value for c in at.caption)
    at.button(key="data_load_all").click().run()
    assert not at.exception
    assert datasets(wid) == ["customers", "subscriptions", "payments"]
    assert table(wid, "subscriptions")["mrr"].sum() == 148.0
    assert len(table(wid, "customers")) == 3


# -- several files, append ----------------------------------------------------------------------------
def test_several_files_at_once_load_together():
    wid = new_workspace()
    at = upload(open_data_page(wid), ("payments.csv", PAYMENTS), ("customers.csv", CUSTOMERS))
    assert [at.selectbox(key=f"upload{i}_dataset").value for i in (1, 2)] == ["payments", "customers"]
    at.button(key="data_load_all").click().run()
    assert not at.exception
    assert datasets(wid) == ["customers", "payments"]
    assert len(at.success) >= 2
    assert metric(at, "Datasets loaded") == "2 of 15"


def test_next_months_export_is_appended_without_duplicates():
    wid = new_workspace()
    at = upload(open_data_page(wid), ("payments.csv", PAYMENTS))
    at.button(key="upload1_load").click().run()
    at = upload(at, ("payments_march.csv", PAYMENTS_NEXT))
    at.selectbox(key="upload2_dataset").select("payments").run()
    at.radio(key="upload2_mode").set_value("append").run()
    at.button(key="upload2_load").click().run()
    assert not at.exception
    assert any(s.value.startswith("Added to **payments**, which now holds 4 rows.") for s in at.success)
    assert len(table(wid, "payments")) == 4



def test_load_all_with_several_files_of_one_dataset_adds_them_up():
    """Like the CLI's folder ingest: the first file replaces (the workspace is empty), the next add."""
    wid = new_workspace()
    parts = [b"customer_id,date,amount\n" + f"C{i},2025-0{i}-05,{10 * i}\nD{i},2025-0{i}-06,1\n".encode()
             for i in (1, 2, 3)]
    at = upload(open_data_page(wid), *((f"payments_part{i}.csv", data) for i, data in enumerate(parts, 1)))
    assert [at.selectbox(key=f"upload{i}_dataset").value for i in (1, 2, 3)] == ["payments"] * 3
    at.button(key="data_load_all").click().run()
    assert not at.exception
    assert sorted(table(wid, "payments")["customer_id"]) == ["C1", "C2", "C3", "D1", "D2", "D3"]
    assert metric(at, "Rows stored") == "6"


def test_a_load_after_someone_else_loaded_that_dataset_asks_to_reload_first():
    wid = new_workspace()
    at = upload(open_data_page(wid), ("payments.csv", PAYMENTS))
    with open_workspace(wid) as ws:     # another editor loads payments while this file waits
        ws.load_frame("payments", pd.DataFrame({"customer_id": ["X1"], "date": ["2025-01-01"], "amount": [9.0]}))
    at.button(key="upload1_load").click().run()
    assert not at.exception
    assert any("payments dataset changed since you opened it — reload" in e.value for e in at.error)
    assert list(table(wid, "payments")["customer_id"]) == ["X1"]
    at.run()                            # the page now shows their rows: loading is a choice made knowingly
    at.button(key="upload1_load").click().run()
    assert not at.exception
    assert sorted(table(wid, "payments")["customer_id"]) == ["C1", "C1", "C2"]

# -- quality report and delete -------------------------------------------------------------------------------
def test_the_quality_report_shows_problems_gaps_and_the_kpis_they_affect(tmp_path_factory):
    wid = new_workspace(source=sample_file(tmp_path_factory))
    at = open_data_page(wid)
    overview = at.dataframe[0].value
    assert list(overview["Dataset"])[:3] == ["events", "customers", "subscriptions"] and len(overview) == 15
    worst = overview.sort_values("Rows with problems", ascending=False).iloc[0]
    picked = at.selectbox(key="data_quality_dataset")
    assert picked.value == worst["Dataset"]          # the report opens on the dataset with most problems

    picked.select("surveys").run()
    text = markdown_text(at)
    assert re.search(r"\d+ NPS scores outside 0-10 will be left out of NPS\.", text)
    assert "Affects: Net Promoter Score" in [c.value for c in at.caption]
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")

    at.selectbox(key="data_quality_dataset").select("incidents").run()
    gaps = next(c.value for c in at.caption if "Months with no rows" in c.value)
    assert re.search(r"Months with no rows at all: [A-Z][a-z]{2} \d{4}", gaps)
    assert int(overview.loc[overview["Dataset"] == "incidents", "Months with no rows"].iloc[0]) > 0


def test_deleting_a_dataset_asks_first_and_can_be_cancelled(tmp_path_factory):
    wid = new_workspace(payments=pd.DataFrame({"customer_id": ["C1"], "date": ["2025-01-05"], "amount": [100.0]}),
                        customers=pd.DataFrame({"customer_id": ["C1"], "signup_date": ["2025-01-01"]}))
    at = open_data_page(wid)
    at.selectbox(key="data_quality_dataset").select("payments").run()
    at.button(key="delete_payments").click().run()
    assert any("Delete **payments** and its 1 rows?" in w.value for w in at.warning)
    at.button(key="delete_no_payments").click().run()
    assert datasets(wid) == ["customers", "payments"]
    at.button(key="delete_payments").click().run()
    at.button(key="delete_yes_payments").click().run()
    assert not at.exception
    assert datasets(wid) == ["customers"]
    assert metric(at, "Datasets loaded") == "1 of 15"


# -- hostile files: bounded work (issue 13) -----------------------------------------------------------------
def test_a_gzip_bomb_is_refused_at_upload_naming_the_setting():
    import gzip
    wid = new_workspace()
    row = b"C000001,2024-01-01,ads\n" * 40_000
    bomb = gzip.compress(b"customer_id,signup_date,channel\n" + row * 80, compresslevel=9)   # 74 MB inflated
    at = upload(open_data_page(wid), ("customers.csv.gz", bomb))
    message = shown(at.error[0].value)
    assert "customers.csv.gz" in message and "100 times its size" in message and "KPI_EXPLORER_MAX_RATIO" in message
    assert not [s for s in at.selectbox if s.key.startswith("upload1_")]
    assert datasets(wid) == []


def test_implausible_dates_are_named_and_the_team_can_keep_them():
    wid = new_workspace(payments=pd.DataFrame({"customer_id": ["C1", "C2", "C3"],
                                               "date": ["1900-01-01", "2025-01-05", "2025-02-05"],
                                               "amount": [5.0, 100.0, 50.0]}))
    at = open_data_page(wid)
    assert at.selectbox(key="data_quality_dataset").value == "payments"
    assert "1 rows with an implausible date (before 1970" in markdown_text(at)
    # rows per month start in 2025, not in 1900
    assert not any("Months with no rows at all" in c.value for c in at.caption)
    at.button(key="early_dates_payments").click().run()
    assert not at.exception
    with open_workspace(wid) as ws:
        assert ws.setting("early_dates") == "keep"
    assert "kept, as you chose" in markdown_text(at)
    assert at.button(key="early_dates_payments").label.startswith("Leave dates before 1970 out")
