"""Ingest: every conversion of datasets.md, every rejection message, and that a rejected file
leaves the workspace exactly as it was."""
from __future__ import annotations

import gzip
import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from kpi.errors import InputError
from kpi.ingest import (detect_personal_data, ingest_file, ingest_folder, preview, workspace_secret)
from kpi.workspace import Workspace

DATA = Path(__file__).parent / "data"


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "team.duckdb")
    yield w
    w.close()


def table(ws: Workspace, name: str) -> pd.DataFrame:
    return ws.df(f'SELECT * FROM "{name}"')


def snapshot(ws: Workspace) -> dict:
    """What must not change when a file is rejected: datasets, row counts, table contents."""
    out = {"datasets": ws.datasets()}
    for ds in ws.datasets():
        frame = table(ws, ds)
        out[ds] = (len(frame), hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest(), ws.columns(ds))
    return out


@pytest.fixture
def loaded(ws, tmp_path):
    """A workspace that already holds payments, so rejections can be checked against it."""
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,10\nc2,2025-01-02,20\n")
    ingest_file(ws, src)
    return ws


# --- conversions ------------------------------------------------------------------------------
def test_ids_stay_text_as_written(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\n007,2025-01-01,1\n123,2025-01-02,2\n 42 ,2025-01-03,3\n")
    ingest_file(ws, src)
    assert table(ws, "payments")["customer_id"].tolist() == ["007", "123", "42"]


def test_float_looking_ids_in_parquet_are_written_as_integers(ws, tmp_path):
    path = tmp_path / "payments.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 123.0 AS customer_id, DATE '2025-01-01' AS date, 5 AS amount) TO '{path}' (FORMAT parquet)")
    con.close()
    ingest_file(ws, path)
    frame = table(ws, "payments")
    assert frame["customer_id"].tolist() == ["123"]
    assert frame["date"].tolist() == [pd.Timestamp("2025-01-01")]


@pytest.mark.parametrize("values, expected", [
    (["2025-01-31", "2025-02-01"], [date(2025, 1, 31), date(2025, 2, 1)]),
    (["01/31/2025", "02/01/2025"], [date(2025, 1, 31), date(2025, 2, 1)]),       # MM/DD/YYYY
    (["31/01/2025", "01/02/2025"], [date(2025, 1, 31), date(2025, 2, 1)]),       # a day over 12: DD/MM
    (["31.01.2025", "1.2.2025"], [date(2025, 1, 31), date(2025, 2, 1)]),         # DD.MM.YYYY
    (["2025/01/31", "2025/2/1"], [date(2025, 1, 31), date(2025, 2, 1)]),         # YYYY/MM/DD
    (["1/31/25", "2/1/25"], [date(2025, 1, 31), date(2025, 2, 1)]),              # two-digit years
    (["2025-01-31 23:30:00", "2025-02-01T00:10:00"], [date(2025, 1, 31), date(2025, 2, 1)]),
    (["2025-01-31T23:30:00-02:00", "2025-02-01 00:10:00Z"], [date(2025, 2, 1), date(2025, 2, 1)]),  # UTC date
    (["1738281600", "1738368000000"], [date(2025, 1, 31), date(2025, 2, 1)]),     # epoch s and ms
    (["31 Jan 2025", "Feb 1, 2025"], [date(2025, 1, 31), date(2025, 2, 1)]),
    (["20250131", "20250201"], [date(2025, 1, 31), date(2025, 2, 1)]),
])
def test_date_forms(ws, tmp_path, values, expected):
    rows = "".join(f'c{i},"{v}",1\n' for i, v in enumerate(values))
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\n" + rows)
    result = ingest_file(ws, src)
    assert [d.date() for d in table(ws, "payments")["date"]] == expected
    assert result.ambiguous_dates == []


def test_ambiguous_slash_dates_read_month_first_with_a_warning(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,03/04/2025,1\nc2,05/06/2025,1\n")
    result = ingest_file(ws, src)
    assert [d.date() for d in table(ws, "payments")["date"]] == [date(2025, 3, 4), date(2025, 5, 6)]
    assert result.ambiguous_dates == ["date"]
    assert any("03/04/2025" in w and "day/month" in w for w in result.warnings)
    ingest_file(ws, src, day_first=["date"])
    assert [d.date() for d in table(ws, "payments")["date"]] == [date(2025, 4, 3), date(2025, 6, 5)]


def test_timestamps_converted_to_naive_utc(ws, tmp_path):
    src = write(tmp_path, "events.csv", "user_id,timestamp,event\n"
                "u1,2025-01-31T10:00:00Z,a\n"
                "u1,2025-01-31 10:00:00.250+02:00,b\n"
                "u1,2025-03-10 10:00:00 -07:00,c\n"
                "u1,2025-01-31T10:00,d\n"
                "u1,2025-01-31,e\n"
                "u1,1738317600,f\n"
                "u1,1738317600123,g\n"
                "u1,1738317600123456,h\n")
    ingest_file(ws, src)
    got = table(ws, "events")["timestamp"].tolist()
    assert got == [pd.Timestamp("2025-01-31 10:00:00"), pd.Timestamp("2025-01-31 08:00:00.250"),
                   pd.Timestamp("2025-03-10 17:00:00"), pd.Timestamp("2025-01-31 10:00:00"),
                   pd.Timestamp("2025-01-31 00:00:00"), pd.Timestamp("2025-01-31 10:00:00"),
                   pd.Timestamp("2025-01-31 10:00:00.123"), pd.Timestamp("2025-01-31 10:00:00.123456")]


def test_numbers_with_separators_currency_and_parentheses(ws, tmp_path):
    src = write(tmp_path, "payments.csv", 'customer_id,date,amount\n'
                'a,2025-01-01,"1,234.50"\nb,2025-01-01,$12\nc,2025-01-01,€ 7.5\nd,2025-01-01,£3\n'
                'e,2025-01-01,(12.00)\nf,2025-01-01,-4\ng,2025-01-01,1e3\n')
    ingest_file(ws, src)
    assert table(ws, "payments")["amount"].tolist() == [1234.5, 12.0, 7.5, 3.0, -12.0, -4.0, 1000.0]


def test_decimal_commas_in_a_semicolon_file(ws):
    result = ingest_file(ws, DATA / "payments_bom_semicolon.csv")
    assert result.dataset == "payments"
    frame = table(ws, "payments")
    assert frame["amount"].tolist() == [1234.5, 12.0]
    assert frame["customer_id"].tolist() == ["c1", "c2"]      # the BOM did not stick to the first header


def test_whole_numbers(ws, tmp_path):
    src = write(tmp_path, "marketing.csv", 'date,channel,spend,visitors\n2025-01-01,ads,1,"1,204"\n2025-01-02,ads,1,7.0\n')
    ingest_file(ws, src)
    assert table(ws, "marketing")["visitors"].tolist() == [1204, 7]


def test_booleans(ws, tmp_path):
    values = ["true", "FALSE", "Yes", "no", "1", "0", "y", "N", "t", "f", ""]
    rows = "".join(f"t{i},2025-01-01 10:00,{v}\n" for i, v in enumerate(values))
    src = write(tmp_path, "tickets.csv", "ticket_id,created_at,escalated\n" + rows)
    ingest_file(ws, src)
    got = table(ws, "tickets")["escalated"].tolist()
    assert got[:10] == [True, False, True, False, True, False, True, False, True, False]
    assert pd.isna(got[10])


def test_billing_periods_and_derived_mrr(ws, tmp_path):
    src = write(tmp_path, "subscriptions.csv", "customer_id,start_date,amount,interval\n"
                "a,2025-01-01,1200,annual\nb,2025-01-01,90,Quarterly\nc,2025-01-01,10,\n"
                "d,2025-01-01,1200,12 months\ne,2025-01-01,20,1 month\nf,2025-01-01,120,yearly\n")
    result = ingest_file(ws, src)
    assert result.derived == {"mrr": "amount / billing period"}
    frame = table(ws, "subscriptions")
    assert frame["billing_period"].tolist() == ["year", "quarter", "month", "year", "month", "year"]
    assert frame["mrr"].tolist() == [100.0, 30.0, 10.0, 100.0, 20.0, 10.0]


def test_monthly_mrr_is_kept_and_missing_billing_period_means_month(ws, tmp_path):
    src = write(tmp_path, "subscriptions.csv", "customer_id,start_date,mrr\na,2025-01-01,49\n")
    result = ingest_file(ws, src)
    assert result.derived == {}
    frame = table(ws, "subscriptions")
    assert frame["mrr"].tolist() == [49.0] and frame["billing_period"].tolist() == ["month"]


def test_unknown_billing_period_is_rejected(ws, tmp_path):
    src = write(tmp_path, "subscriptions.csv", "customer_id,start_date,amount,interval\na,2025-01-01,10,fortnight\n")
    with pytest.raises(InputError) as err:
        ingest_file(ws, src)
    assert str(err.value) == ("subscriptions.csv, line 2, column interval: 'fortnight' is not a billing period "
                              "(use month, quarter or year) — fix the value or map billing_period to another column")


def test_defect_stages_are_normalised_when_recognised(ws, tmp_path):
    src = write(tmp_path, "defects.csv", "defect_id,found_date,stage\nD-1,2025-01-01,Production\n"
                "D-2,2025-01-01,Staging\nD-3,2025-01-01,pre-release\nD-4,2025-01-01,Canary\n")
    result = ingest_file(ws, src)
    assert table(ws, "defects")["stage"].tolist() == ["production", "pre_release", "pre_release", "Canary"]
    assert any("stage is neither" in w for w in result.warnings)


def test_extra_columns_kept_as_segments_with_unique_names(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount,Plan,Labels,Labels,labels\n"
                "c1,2025-01-01,5,Pro,a,b,c\n")
    result = ingest_file(ws, src)
    assert ws.columns("payments") == ["customer_id", "date", "amount", "product", "Plan", "Labels", "Labels_2",
                                      "labels_3"]
    assert result.extra_columns == ["Plan", "Labels", "Labels_2", "labels_3"]
    assert table(ws, "payments").iloc[0]["Labels_2"] == "b"
    assert ws.segment_columns()["payments"] == ["Plan", "Labels", "Labels_2", "labels_3"]


def test_an_extra_column_never_hides_a_canonical_one(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,Paid At,amount,date\nc1,2025-01-01,5,whenever\n")
    ingest_file(ws, src, mapping={"date": "Paid At"})
    frame = table(ws, "payments")
    assert frame["date"].tolist() == [pd.Timestamp("2025-01-01")]
    assert frame["date_2"].tolist() == ["whenever"]


def test_synonym_headers_with_partial_explicit_mapping(ws, tmp_path):
    src = write(tmp_path, "export.csv", "Customer,Paid At,Net Amount,Gross\nc1,2025-01-01,5,6\n")
    result = ingest_file(ws, src, dataset="payments", mapping={"amount": "Gross"})
    assert result.mapping == {"customer_id": "Customer", "date": "Paid At", "amount": "Gross"}
    assert table(ws, "payments")["amount"].tolist() == [6.0]


def test_gzip_and_preamble_report(ws, tmp_path):
    path = tmp_path / "events_2025.csv.gz"
    path.write_bytes(gzip.compress(b"user_id,timestamp,event\nu1,2025-01-01 10:00,open\n"))
    assert ingest_file(ws, path).rows == 1
    result = ingest_file(ws, DATA / "ads_report.csv", dataset="marketing", mapping={"channel": "Network"})
    frame = table(ws, "marketing")
    assert result.rows == 2                       # the "Total:" footer is not a row
    assert frame["spend"].tolist() == [1204.5, 10.0]
    assert frame["visitors"].tolist() == [2670, 20]


def test_latin1_and_utf16_accepted(ws):
    ingest_file(ws, DATA / "customers_latin1.csv")
    assert table(ws, "customers")["Ville"].tolist() == ["Orléans", "Besançon"]
    ingest_file(ws, DATA / "marketing_utf16.tsv")
    assert table(ws, "marketing")["spend"].tolist() == [1204.5, 0.0]


def test_latin1_after_the_first_megabyte_is_read_again_as_latin1(ws, tmp_path):
    rows = "".join(f"c{i},2025-01-01,{i}\n" for i in range(60000))
    path = tmp_path / "payments.csv"
    path.write_bytes(("customer_id,date,amount,note\n" + rows.replace("\n", ",x\n")).encode() +
                     "c_last,2025-01-02,1,Orléans\n".encode("latin-1"))
    result = ingest_file(ws, path)
    assert result.rows == 60001
    assert ws.rows("SELECT note FROM payments WHERE customer_id = 'c_last'")[0][0] == "Orléans"


def test_rows_without_a_required_value_are_left_out_and_counted(ws):
    result = ingest_file(ws, DATA / "surveys_typeform.csv")
    assert result.dataset == "surveys" and result.rows == 2
    assert any("1 row without a value in a required column" in w for w in result.warnings)
    assert table(ws, "surveys")["Why?"].tolist() == ["great", "too slow,\nand pricey"]


# --- rejections: the message, and a workspace left as it was ---------------------------------------
def rejected(ws: Workspace, path: Path, **kwargs) -> str:
    before = snapshot(ws)
    version = ws.data_version
    with pytest.raises(InputError) as err:
        ingest_file(ws, path, **kwargs)
    assert snapshot(ws) == before
    assert ws.data_version == version
    return str(err.value)


def test_wrong_type_names_file_line_column_value_and_fix(loaded, tmp_path):
    rows = "".join(f"c{i},2025-01-01,{i}\n" for i in range(1202))
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\n" + rows + "cx,2025-01-01,n/a\n")
    assert rejected(loaded, src) == ("payments.csv, line 1,204, column amount: 'n/a' is not a number — "
                                     "fix the value or map amount to another column")


def test_line_numbers_count_preamble_and_quoted_line_breaks(loaded, tmp_path):
    src = write(tmp_path, "sales.csv", 'Sales export\n\nCustomer,Paid at,Net Amount,Note\n'
                'c1,2025-01-01,5,"two\nlines"\nc2,2025-01-02,5,x\nc3,2025-13-45,5,x\n')
    msg = rejected(loaded, src, dataset="payments", mapping={"amount": "Net Amount"})
    assert msg == ("sales.csv, line 7, column Paid at: '2025-13-45' is not a date — "
                   "fix the value or map date to another column")


def test_other_type_messages(loaded, tmp_path):
    src = write(tmp_path, "tickets.csv", "ticket_id,created_at,escalated\nt1,2025-01-01 10:00,maybe\n")
    assert rejected(loaded, src) == ("tickets.csv, line 2, column escalated: 'maybe' is not true or false "
                                     "(use true/false, yes/no, 1/0) — fix the value or map escalated to another column")
    src = write(tmp_path, "marketing.csv", "date,channel,spend,visitors\n2025-01-01,ads,1,2.5\n")
    assert "'2.5' is not a whole number" in rejected(loaded, src)
    src = write(tmp_path, "events.csv", "user_id,timestamp,event\nu1,yesterday,x\n")
    assert "line 2, column timestamp: 'yesterday' is not a date and time" in rejected(loaded, src)
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,inf\n")
    assert "'inf' is not a number" in rejected(loaded, src)


def test_mixed_day_and_month_order_is_rejected(loaded, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,13/01/2025,1\nc2,01/13/2025,1\n")
    assert "mixes day/month and month/day" in rejected(loaded, src)


def test_empty_file(loaded, tmp_path):
    assert rejected(loaded, write(tmp_path, "payments.csv", "")) == (
        "payments.csv: the file is empty — export the table again with its rows")
    assert "the file is empty" in rejected(loaded, write(tmp_path, "payments.csv", "\n \n"))


def test_header_only(loaded, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\n")
    assert rejected(loaded, src) == "payments.csv: the file has a header but no rows — export the table again with its rows"


def test_unknown_dataset(loaded, tmp_path):
    src = write(tmp_path, "x.csv", "customer_id,date,amount\nc1,2025-01-01,1\n")
    assert "unknown dataset 'paymnts' — use one of: events, customers" in rejected(loaded, src, dataset="paymnts")


def test_no_dataset_fits(loaded, tmp_path):
    src = write(tmp_path, "export.csv", "customer_id,price,colour\nc1,5,red\n")
    msg = rejected(loaded, src)
    assert msg.startswith("export.csv: no dataset fits: closest are ")
    assert "payments (missing date)" in msg


def test_required_column_not_mapped(loaded, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,colour\nc1,2025-01-01,red\n")
    assert rejected(loaded, src) == ("payments.csv: required column amount of payments is not mapped — "
                                     "map amount to one of the file's columns (colour)")


def test_mapping_to_a_missing_column(loaded, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,1\n")
    assert "the file has no column 'Net Amount' (mapped to amount)" in rejected(
        loaded, src, mapping={"amount": "Net Amount"})


def test_ragged_rows(loaded, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,1\nc2,2025-01-02\n")
    assert rejected(loaded, src) == ("payments.csv, line 3: this row has 2 values but the header has 3 columns — "
                                     "fix the row (a missing or extra delimiter, or a value with a quote that is not "
                                     "closed), then load the file again")
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,1,9\n")
    assert "line 2: this row has 4 values but the header has 3 columns" in rejected(loaded, src)


def test_unclosed_quote(loaded, tmp_path):
    src = write(tmp_path, "payments.csv", 'customer_id,date,amount\nc1,2025-01-01,1\n"c2,2025-01-02,2\n')
    msg = rejected(loaded, src)
    assert msg.startswith("payments.csv") and "Traceback" not in msg and "Error:" not in msg


@pytest.mark.parametrize("name, data, words", [
    ("payments.csv", b"PK\x03\x04\x14\x00\x00\x00", "this is a zip archive, not a CSV file"),
    ("payments.xlsx", b"PK\x03\x04\x14\x00\x00\x00", "this is an Excel workbook"),
    ("payments.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "this is an image"),
    ("payments.csv", b"\x00\x01\x02\x03binary\x00\xff\xfe\x00", "this is not a text file"),
])
def test_files_that_are_not_text(loaded, tmp_path, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    assert words in rejected(loaded, path)


def test_missing_file(loaded, tmp_path):
    assert "no such file" in rejected(loaded, tmp_path / "missing" / "payments.csv")


def test_replace_keeps_previous_version_until_the_new_one_lands(loaded, tmp_path):
    before = snapshot(loaded)
    bad = write(tmp_path, "payments.csv", "customer_id,date,amount\nc9,2025-01-01,1\nc9,2025-01-01,oops\n")
    rejected(loaded, bad)
    assert snapshot(loaded) == before
    good = write(tmp_path, "payments.csv", "customer_id,date,amount\nc9,2025-01-01,1\n")
    ingest_file(loaded, good)
    assert table(loaded, "payments")["customer_id"].tolist() == ["c9"]


def test_a_failed_ingest_is_invisible_to_another_session(tmp_path):
    path = tmp_path / "team.duckdb"
    w = Workspace(path)
    ingest_file(w, write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,10\n"))
    with pytest.raises(InputError):
        ingest_file(w, write(tmp_path, "payments.csv", "customer_id,date,amount\nc2,2025-01-01,x\n"))
    w.close()
    reopened = Workspace(path, read_only=True)
    assert reopened.datasets() == ["payments"]
    assert reopened.rows("SELECT customer_id FROM payments") == [("c1",)]
    reopened.close()


# --- duplicates, append ---------------------------------------------------------------------------
def test_duplicate_rows_kept_on_replace_with_a_warning(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,5\nc1,2025-01-01,5\nc2,2025-01-01,5\n")
    result = ingest_file(ws, src)
    assert result.rows == 3
    assert "1 duplicate row (exact copies of another row) was kept" in result.warnings


def test_append_drops_exact_duplicates(ws, tmp_path):
    ingest_file(ws, write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,5\nc2,2025-01-02,5\n"))
    result = ingest_file(ws, write(tmp_path, "payments_feb.csv",
                                   "customer_id,date,amount\nc2,2025-01-02,5\nc3,2025-02-01,7\n"), mode="append")
    assert result.rows == 3 and result.mode == "append"
    assert sorted(table(ws, "payments")["customer_id"]) == ["c1", "c2", "c3"]
    assert any("1 duplicate row" in w and "left out" in w for w in result.warnings)


# --- identifier safety ----------------------------------------------------------------------------
def test_hostile_header_is_just_a_column_name(ws, tmp_path):
    ingest_file(ws, write(tmp_path, "customers.csv", "customer_id,signup_date\nc1,2025-01-01\n"))
    hostile = 'x"; DROP TABLE customers; --'
    src = tmp_path / "payments.csv"
    pd.DataFrame({"customer_id": ["c1"], "date": ["2025-01-01"], "amount": ["1"], hostile: ["boom"]}).to_csv(src, index=False)
    ingest_file(ws, src)
    assert ws.datasets() == ["customers", "payments"]
    assert ws.row_count("customers") == 1
    assert hostile in ws.columns("payments")
    assert table(ws, "payments")[hostile].tolist() == ["boom"]
    result = preview(src)
    assert hostile in result.columns


def test_hostile_file_name_and_path_are_parameters(ws, tmp_path):
    folder = tmp_path / "it's; DROP TABLE x"
    folder.mkdir()
    src = write(folder, "payments'--.csv", "customer_id,date,amount\nc1,2025-01-01,1\n")
    assert ingest_file(ws, src).rows == 1


# --- privacy ----------------------------------------------------------------------------------------
def test_personal_data_found_by_header_and_value(tmp_path):
    src = write(tmp_path, "contacts.csv", "customer_id,First Name,Last Name,Contact,Phone Number,client ip,Plan,Campaign name\n"
                "c1,Ana,Ruiz,ana@example.com,+1 512 555 0101,10.0.0.1,pro,spring\n")
    found = detect_personal_data(src)
    assert found == {"First Name": "name", "Last Name": "name", "Contact": "email", "Phone Number": "phone",
                     "client ip": "ip"}
    assert detect_personal_data(["Customer Email", "Customer Name", "Card Address Zip", "event"]) == {
        "Customer Email": "email", "Customer Name": "name"}


def test_pseudonymised_ids_still_join_across_datasets(ws, tmp_path):
    ingest_file(ws, write(tmp_path, "customers.csv", "customer_id,signup_date,email\nc1,2025-01-01,a@x.io\nc2,2025-01-02,b@x.io\n"),
                pseudonymise=["customer_id", "email"])
    ingest_file(ws, write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-05,10\nc2,2025-01-06,20\nc2,2025-01-07,5\n"),
                pseudonymise=["customer_id"])
    secret = ws.setting("pseudonym_secret")
    assert secret and len(secret) == 64 and workspace_secret(ws) == secret
    customers = table(ws, "customers")
    expected = hashlib.sha256((secret + "c1").encode()).hexdigest()[:16]
    assert customers["customer_id"].tolist()[0] == expected
    assert "a@x.io" not in customers.to_csv()
    joined = ws.rows("SELECT c.signup_date, sum(p.amount) FROM payments p JOIN customers c USING (customer_id) "
                     "GROUP BY 1 ORDER BY 1")
    assert [r[1] for r in joined] == [10.0, 25.0]


def test_drop_columns(ws, tmp_path):
    src = write(tmp_path, "customers.csv", "customer_id,signup_date,Email,Phone\nc1,2025-01-01,a@x.io,+1 555 0100 22\n")
    ingest_file(ws, src, drop_columns=["Email", "Phone"])
    assert ws.columns("customers") == ["customer_id", "signup_date", "channel", "trial_start", "trial_end",
                                       "converted_date"]


def test_cannot_pseudonymise_a_date(ws, tmp_path):
    src = write(tmp_path, "customers.csv", "customer_id,signup_date\nc1,2025-01-01\n")
    with pytest.raises(InputError, match="pseudonymise only"):
        ingest_file(ws, src, pseudonymise=["signup_date"])


# --- preview ----------------------------------------------------------------------------------------
def test_preview_shows_rows_as_stored_without_touching_the_workspace(tmp_path):
    src = write(tmp_path, "export.csv", 'Customer,Paid At,Total,Plan\nc1,01/31/2025,"1,000",pro\nc2,02/01/2025,$5,basic\n')
    frame = preview(src, "payments", {"amount": "Total"}, n=1)
    assert frame.columns.tolist() == ["customer_id", "date", "amount", "product", "Plan"]
    assert frame.iloc[0]["amount"] == 1000.0 and frame.iloc[0]["date"] == pd.Timestamp("2025-01-31")
    assert len(frame) == 1


# --- folders ----------------------------------------------------------------------------------------
def test_ingest_folder(ws, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,5\n")
    write(folder, "payments_2.csv", "customer_id,date,amount\nc1,2025-01-01,5\nc2,2025-02-01,6\n")
    write(folder, "crm_export.csv", "Customer ID,Signup Date,Source\nc1,2025-01-01,ads\n")
    write(folder, "notes.txt", "not a dataset")
    write(folder, "stripe.csv", "Customer,Created,Net\nc1,2025-01-01,5\n")
    results = ingest_folder(ws, folder, explicit={"stripe.csv": {"dataset": "payments", "columns": {"amount": "Net"}}})
    assert [(r.file, r.dataset, r.mode) for r in results] == [
        ("crm_export.csv", "customers", "replace"), ("payments.csv", "payments", "replace"),
        ("payments_2.csv", "payments", "append"), ("stripe.csv", "payments", "append")]
    assert ws.row_count("payments") == 2
    assert ws.datasets() == ["customers", "payments"]


def test_ingest_folder_refuses_a_file_that_fits_nothing_before_loading_any(ws, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,5\n")
    write(folder, "zzz.csv", "colour,size\nred,5\n")
    with pytest.raises(InputError) as err:
        ingest_folder(ws, folder)
    assert str(err.value).startswith("zzz.csv: no dataset fits")
    assert ws.datasets() == []


def test_ingest_parquet(ws, tmp_path):
    path = tmp_path / "events.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT 'u' || i AS user_id, TIMESTAMPTZ '2025-01-01 10:00:00+02' AS timestamp,
                     'open' AS event, i AS seats FROM range(3) t(i)) TO '{path}' (FORMAT parquet)""")
    con.close()
    result = ingest_file(ws, path)
    assert result.rows == 3
    frame = table(ws, "events")
    assert frame["timestamp"].tolist() == [pd.Timestamp("2025-01-01 08:00:00")] * 3
    assert frame["seats"].tolist() == [0, 1, 2]


def test_readers_see_the_previous_version_while_the_new_one_is_written(loaded, tmp_path, monkeypatch):
    seen = []
    original = loaded.replace_table

    def spy(cur, dataset, *args, **kwargs):
        rows = original(cur, dataset, *args, **kwargs)
        seen.append(loaded.rows("SELECT count(*) FROM payments")[0][0])   # another cursor, mid-transaction
        return rows

    monkeypatch.setattr(loaded, "replace_table", spy)
    ingest_file(loaded, write(tmp_path, "payments.csv", "customer_id,date,amount\nc9,2025-01-01,1\n"))
    assert seen == [2]
    assert loaded.row_count("payments") == 1
