"""Detection: sniffing a file's layout, and guessing its dataset and mapping from headers and values."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from kpi.datasets import DATASETS
from kpi.detect import (FileLayout, dataset_from_file_name, detect, detect_file, explain_no_match, read_sample,
                        sniff, unique_names)
from kpi.errors import InputError

DATA = Path(__file__).parent / "data"
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "exports"

# One plausible value per canonical type, to give detection a sample to look at.
VALUE = {"id": "c_001", "text": "pro", "date": "2025-01-31", "timestamp": "2025-01-31 10:00:00",
         "number": "12.5", "int": "7", "bool": "true"}
SPECIAL = {("surveys", "score"): "9", ("defects", "stage"): "production", ("subscriptions", "billing_period"): "month"}


def canonical_sample(dataset: str) -> pd.DataFrame:
    ds = DATASETS[dataset]
    return pd.DataFrame({c.name: [SPECIAL.get((dataset, c.name), VALUE[c.type])] * 3 for c in ds.columns})


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_canonical_headers_map_with_full_confidence(dataset):
    sample = canonical_sample(dataset)
    found = detect(list(sample.columns), sample)
    assert found.dataset == dataset
    assert found.confidence == 1.0
    assert found.mapping == {c: c for c in DATASETS[dataset].column_names}
    assert set(found.column_confidence.values()) == {1.0}


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_canonical_required_columns_alone(dataset):
    required = list(DATASETS[dataset].required)
    sample = canonical_sample(dataset)[required]
    found = detect(required, sample)
    assert (found.dataset, found.confidence) == (dataset, 1.0)


SYNONYM_FILES = {
    "events": (["distinct_id", "event_time", "event_name", "Session ID"], ["u1", "2025-01-01 10:00", "open", "s1"]),
    "customers": (["Account ID", "Signed Up At", "utm_source", "Trial Started"], ["a1", "2025-01-01", "ads", "2025-01-01"]),
    "subscriptions": (["Customer", "Period Start", "Period End", "Monthly Amount", "Plan Name"],
                      ["c1", "2025-01-01", "2025-02-01", "49", "pro"]),
    "payments": (["Payer ID", "Payment Date", "Amount Paid"], ["c1", "2025-01-01", "$12.00"]),
    "marketing": (["Day", "Network", "Amount Spent", "Clicks"], ["2025-01-01", "google", "12.5", "40"]),
    "surveys": (["Submitted At", "NPS Score", "Respondent"], ["2025-01-01 10:00", "9", "r1"]),
    "releases": (["Release Name", "Release Date", "Kickoff"], ["v1", "2025-01-01", "2024-12-01"]),
    "sprints": (["Sprint Name", "Complete Date", "Done Points", "Planned Points"], ["S1", "2025-01-10", "21", "24"]),
    "defects": (["Bug ID", "Reported At", "Found In", "Priority"], ["B-1", "2025-01-01", "production", "high"]),
    "codebase": (["Snapshot Date", "KLOC Count"], ["2025-01-01", "120.5"]),
    "test_runs": (["Build ID", "Start Time", "Duration (min)", "Total Tests", "Failures"],
                  ["b1", "2025-01-01 10:00", "12", "300", "2"]),
    "tickets": (["Case ID", "Opened At", "First Reply At", "Solved At", "Is Escalated"],
                ["t1", "2025-01-01 10:00", "2025-01-01 10:30", "2025-01-02 10:00", "no"]),
    "incidents": (["Began At", "Recovered At", "Affected Service", "Impact"],
                  ["2025-01-01 10:00", "2025-01-01 11:00", "api", "major"]),
    "compliance": (["Check Date", "Control ID", "Result", "Framework"], ["2025-01-01", "AC-1", "pass", "SOC2"]),
    "kpi_values": (["Period", "Metric", "Metric Value"], ["2025-01-01", "mrr", "1000"]),
}


@pytest.mark.parametrize("dataset", list(SYNONYM_FILES))
def test_synonym_headers(dataset):
    headers, values = SYNONYM_FILES[dataset]
    sample = pd.DataFrame({h: [v] * 5 for h, v in zip(headers, values)})
    found = detect(headers, sample)
    assert found.dataset == dataset, found.alternatives[:3]
    assert 0.5 <= found.confidence < 1.0
    assert set(DATASETS[dataset].required) <= set(found.mapping) | set(found.derived)
    assert set(found.mapping.values()) <= set(headers)


def test_decorated_headers():
    headers = ["Customer ID", "Created date (UTC)", "Amount", "Refunded date (UTC)", "Amount Refunded"]
    found = detect(headers, None)
    assert found.dataset == "payments"
    # the refund's own columns are found by their words: the refund becomes a negative row on its date
    assert found.mapping == {"customer_id": "Customer ID", "date": "Created date (UTC)", "amount": "Amount",
                             "refund_amount": "Amount Refunded", "refund_date": "Refunded date (UTC)"}
    posthog = ["*.uuid", "*.event", "*.properties.$session_id", "*.timestamp", "*.distinct_id", "*.created_at"]
    found = detect(posthog, None)
    assert found.mapping == {"user_id": "*.distinct_id", "timestamp": "*.timestamp", "event": "*.event",
                             "session_id": "*.properties.$session_id"}
    assert found.column_confidence["timestamp"] < 1.0


def test_each_source_column_maps_once():
    found = detect(["user", "date", "name"], None)
    assert len(set(found.mapping.values())) == len(found.mapping)
    for cand in found.alternatives:
        assert len(set(cand.mapping.values())) == len(cand.mapping)


def test_values_raise_or_lower_confidence():
    headers = ["customer_id", "date", "amount"]
    good = pd.DataFrame({"customer_id": ["a", "b"], "date": ["2025-01-01", "01/02/2025"], "amount": ["$1,200.00", "(3)"]})
    bad = pd.DataFrame({"customer_id": ["a", "b"], "date": ["soon", "later"], "amount": ["lots", "n/a"]})
    assert detect(headers, good).confidence == 1.0
    assert detect(headers, bad).dataset is None            # too unsure to say
    worse = detect(headers, bad, "payments.csv")
    assert worse.dataset == "payments"
    assert worse.column_confidence["date"] == 0.5 and worse.column_confidence["amount"] == 0.5
    assert worse.confidence < 1.0
    # a 0-10 score is an NPS score; a 0-100 rating is less likely to be one
    nps = detect(["date", "rating"], pd.DataFrame({"date": ["2025-01-01"] * 3, "rating": ["9", "10", "3"]}))
    pct = detect(["date", "rating"], pd.DataFrame({"date": ["2025-01-01"] * 3, "rating": ["90", "100", "30"]}))
    assert nps.column_confidence["score"] > pct.column_confidence["score"]
    flags = detect(["ticket_id", "created_at", "escalated"],
                   pd.DataFrame({"ticket_id": ["1"], "created_at": ["2025-01-01"], "escalated": ["maybe"]}))
    assert flags.column_confidence["escalated"] == 0.5


def test_file_name_picks_the_dataset():
    assert dataset_from_file_name("payments.csv") == "payments"
    assert dataset_from_file_name("events_2025.csv.gz") == "events"
    assert dataset_from_file_name("Test_Runs-march.parquet") == "test_runs"
    assert dataset_from_file_name("eventsx.csv") is None
    assert dataset_from_file_name("stripe_payments.csv") is None
    # headers alone would say payments; the name says subscriptions (and what is missing)
    found = detect(["customer_id", "date", "amount"], None, "subscriptions_2025.csv")
    assert found.dataset == "subscriptions"
    assert found.alternatives[0].dataset == "payments"
    sub = next(c for c in found.alternatives if c.dataset == "subscriptions")
    assert sub.missing_required == ["start_date"]


def test_derived_mrr_from_amount_and_billing_period():
    headers = ["Customer ID", "Start Date (UTC)", "Amount", "Interval", "Quantity"]
    sample = pd.DataFrame({"Customer ID": ["c"], "Start Date (UTC)": ["2025-01-01"], "Amount": ["49.00"],
                           "Interval": ["month"], "Quantity": ["1"]})
    found = detect(headers, sample, "stripe_subscriptions.csv")
    assert found.dataset == "subscriptions"
    assert found.derived == {"mrr": "amount / billing period"}
    assert found.mapping["amount"] == "Amount" and "mrr" not in found.mapping
    assert found.mapping["quantity"] == "Quantity" and found.mapping["billing_period"] == "Interval"


def test_forced_dataset_and_fixed_columns():
    headers = ["Customer", "Paid At", "Net", "Gross"]
    found = detect(headers, None, dataset="payments", fixed={"amount": "Gross"})
    assert found.mapping == {"customer_id": "Customer", "date": "Paid At", "amount": "Gross"}
    found = detect(["customer_id", "date", "amount", "product"], None, dataset="payments", fixed={"product": None})
    assert "product" not in found.mapping
    with pytest.raises(InputError):
        detect(headers, None, dataset="paymnts")


def test_explain_no_match():
    found = detect(["customer_id", "price", "colour"], None)
    assert found.dataset is None
    text = explain_no_match(found)
    assert text.startswith("no dataset fits: closest are ")
    assert "payments (missing date)" in text and "subscriptions (missing start_date)" in text
    nothing = detect(["colour", "size"], None)
    assert explain_no_match(nothing).startswith("no dataset fits: no column name matches")


def test_unique_names():
    assert unique_names(["Labels", "Labels", "labels", "", "Labels_2"]) == (
        "Labels", "Labels_2", "labels_3", "column_4", "Labels_2_2")


# --- sniffing ---------------------------------------------------------------------------------------
def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    text = delimiter.join(["customer_id", "date", "amount"]) + "\n" + delimiter.join(["c1", "2025-01-01", "1,5"]) + "\n"
    layout = sniff(write(tmp_path, "p.csv", text.encode()))
    assert layout.delimiter == delimiter
    assert layout.columns == ("customer_id", "date", "amount")


def test_encodings(tmp_path):
    assert sniff(DATA / "payments_bom_semicolon.csv").encoding == "utf-8-sig"
    assert sniff(DATA / "customers_latin1.csv").encoding == "latin-1"
    assert sniff(DATA / "marketing_utf16.tsv").encoding == "utf-16"
    layout = sniff(write(tmp_path, "x.csv", "a,b\n1,é\n".encode("utf-16-le")))   # no byte-order mark
    assert (layout.encoding, layout.columns) == ("utf-16", ("a", "b"))


def test_preamble_footer_and_gzip(tmp_path):
    layout = sniff(DATA / "ads_report.csv")
    assert (layout.header_line, layout.data_line, layout.footer_rows) == (3, 4, 1)
    assert layout.columns == ("Day", "Network", "Campaign", "Cost", "Clicks")
    gz = write(tmp_path, "events.csv.gz", gzip.compress(b"user_id;timestamp;event\nu;2025-01-01;x\n"))
    layout = sniff(gz)
    assert (layout.compression, layout.delimiter) == ("gzip", ";")
    assert read_sample(layout).to_dict("records") == [{"user_id": "u", "timestamp": "2025-01-01", "event": "x"}]


def test_multiline_header_cell_and_quoted_newlines(tmp_path):
    layout = sniff(write(tmp_path, "x.csv", b'"customer\nid",date\n"a\nb",2025-01-01\n'))
    assert layout.columns == ("customer\nid", "date") and layout.data_line == 3


def test_parquet(tmp_path):
    path = tmp_path / "x.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 1 AS a, 'x' AS \"Labels\", 'y' AS \"labels\") TO '{path}' (FORMAT parquet)")
    con.close()
    layout = sniff(path)
    assert layout.format == "parquet" and layout.columns == ("a", "Labels", "labels_1")
    assert read_sample(layout).iloc[0].tolist() == ["1", "x", "y"]


@pytest.mark.parametrize("data, words", [
    (b"", "the file is empty"), (b"PK\x03\x04rest", "zip archive"), (b"%PDF-1.7", "PDF"),
    (b"\x89PNG\r\n", "image"), (b"abc\x00\x01\x02\x00", "not a text file")])
def test_not_csv(tmp_path, data, words):
    with pytest.raises(InputError, match=words):
        sniff(write(tmp_path, "x.csv", data))


# --- the ten real exports ---------------------------------------------------------------------------
def test_real_exports_do_not_crash_and_mostly_map():
    expected = json.loads((FIXTURES / "expected.json").read_text())
    right_dataset = right_columns = 0
    for name, want in expected.items():
        layout, found = detect_file(FIXTURES / name)
        assert isinstance(layout, FileLayout) and layout.columns
        assert layout.header_line == want["layout"]["header_line"]
        if found.dataset == want["dataset"]:
            right_dataset += 1
            mapping = found.mapping
        else:
            mapping = next((c.mapping for c in found.alternatives if c.dataset == want["dataset"]), {})
        right_columns += sum(mapping.get(k) == v for k, v in want["mapping"].items())
    total_columns = sum(len(w["mapping"]) for w in expected.values())
    print(f"real exports: {right_dataset}/{len(expected)} datasets, {right_columns}/{total_columns} columns")
    assert right_dataset >= 9          # Google Ads has no channel column yet: a later issue
    assert right_columns >= total_columns - 3
