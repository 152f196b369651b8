"""Write the hostile files of tests/test_hostile_files.py into this folder; the same bytes every run.

Run it after changing a file here: `python tests/data/bad/make_bad_files.py`. The one file too
big to keep in git (a line over 2 MB) is made by `long_line_csv` at test time instead.
"""
from __future__ import annotations

import gzip
import io
import random
import struct
import sys
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _customers(n: int = 6, start: int = 1) -> list[str]:
    return [f"C{i:04d},2025-01-{1 + i % 28:02d},referral" for i in range(start, start + n)]


CUSTOMERS = "customer_id,signup_date,channel\n" + "\n".join(_customers()) + "\n"


def _png() -> bytes:
    """A real 1x1 PNG, to be saved under a .csv name."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("customers.csv", date_time=(2025, 1, 1, 0, 0, 0))
        z.writestr(info, CUSTOMERS)
    return buf.getvalue()


def _parquet_truncated() -> bytes:
    import duckdb
    path = HERE / "_whole.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'C' || lpad(i::VARCHAR, 4, '0') AS customer_id, DATE '2025-01-01' + i::INT "
                f"AS signup_date FROM range(200) t(i)) TO '{path}' (FORMAT parquet)")
    con.close()
    data = path.read_bytes()
    path.unlink()
    return data[: len(data) // 2]


def _gzip_corrupt() -> bytes:
    whole = gzip.compress(CUSTOMERS.encode() * 20, mtime=0)
    return whole[:10] + bytes(b ^ 0x5A for b in whole[10:40]) + whole[40:]


def files() -> dict[str, bytes]:
    rng = random.Random(7)
    out: dict[str, bytes] = {}
    # encodings
    out["bom_utf8_customers.csv"] = b"\xef\xbb\xbf" + CUSTOMERS.encode()
    out["utf16_customers.csv"] = CUSTOMERS.encode("utf-16")
    out["utf16_no_bom_customers.csv"] = CUSTOMERS.encode("utf-16-le")
    out["latin1_customers.csv"] = ("customer_id,signup_date,channel,city\n"
                                   + "\n".join(f"C{i:04d},2025-01-0{i},référence,Zoë-Münster" for i in range(1, 6))
                                   + "\n").encode("latin-1")
    # delimiters and line ends
    out["semicolon_payments.csv"] = b"customer_id;date;amount\nC1;2025-01-01;10,50\nC2;2025-01-02;20,00\nC3;2025-01-03;5,25\n"
    out["pipe_customers.csv"] = CUSTOMERS.replace(",", "|").encode()
    out["tab_customers.tsv"] = CUSTOMERS.replace(",", "\t").encode()
    out["crlf_customers.csv"] = CUSTOMERS.replace("\n", "\r\n").encode()
    out["cr_only_customers.csv"] = CUSTOMERS.replace("\n", "\r").encode()
    out["blank_lines_customers.csv"] = CUSTOMERS.replace("\n", "\n\n").encode()
    # quoting
    out["quoted_newlines_customers.csv"] = (
        'customer_id,signup_date,channel,note\n'
        'C0001,2025-01-01,referral,"first line\nsecond line"\n'
        'C0002,2025-01-02,ads,"says ""hi"", then\r\nleaves"\n'
        'C0003,2025-01-03,ads,plain\n').encode()
    out["unclosed_quote_customers.csv"] = b'customer_id,signup_date,channel\nC0001,2025-01-01,"referral\nC0002,2025-01-02,ads\n'
    out["bare_cr_in_cell_customers.csv"] = b"customer_id,signup_date,channel\nC0001,2025-01-01,ads\nC0002,2025-01-02,a\rb\n"
    out["ragged_rows_customers.csv"] = (b"customer_id,signup_date,channel\nC0001,2025-01-01,referral\n"
                                        b"C0002,2025-01-02\nC0003,2025-01-03,ads,extra,more\nC0004,2025-01-04,ads\n")
    # types
    rows = [f"C{i:05d},2025-{1 + i % 12:02d}-{1 + i % 28:02d},{rng.randint(1, 500)}.{rng.randint(0, 99):02d}"
            for i in range(3000)]
    rows[2500] = "C02500,2025-05-05,n/a"
    out["type_change_after_2500_rows_payments.csv"] = ("customer_id,date,amount\n" + "\n".join(rows) + "\n").encode()
    out["non_numeric_amount_payments.csv"] = b"customer_id,date,amount\nC1,2025-01-01,10\nC2,2025-01-02,12\nC3,2025-01-03,lots\n"
    out["mixed_dates_customers.csv"] = (b"customer_id,signup_date,channel\nC0001,2025-01-15,ads\nC0002,15/01/2025,ads\n"
                                        b"C0003,Jan 15 2025,ads\nC0004,20250115,ads\n")
    out["impossible_date_customers.csv"] = b"customer_id,signup_date,channel\nC0001,2025-01-15,ads\nC0002,2025-02-30,ads\n"
    out["huge_number_payments.csv"] = b"customer_id,date,amount\nC1,2025-01-01,10\nC2,2025-01-02,1e400\n"
    out["nps_11_surveys.csv"] = b"date,score,respondent_id\n2025-01-01,9,r1\n2025-01-02,11,r2\n2025-01-03,7,r3\n2025-01-04,-1,r4\n"
    out["negative_mrr_subscriptions.csv"] = (b"customer_id,start_date,end_date,mrr\nC1,2025-01-01,,100\n"
                                             b"C2,2025-01-01,,-50\nC3,2025-02-01,2025-01-01,30\n")
    out["duplicate_ids_customers.csv"] = (b"customer_id,signup_date,channel\nC0001,2025-01-01,ads\n"
                                          b"C0001,2024-12-01,referral\nC0002,2025-01-02,ads\n")
    out["future_dates_payments.csv"] = b"customer_id,date,amount\nC1,2025-01-01,10\nC2,2099-01-01,10\n"
    out["empty_required_customers.csv"] = b"customer_id,signup_date,channel\n,2025-01-01,ads\nC0002,,ads\n"
    out["some_empty_required_customers.csv"] = b"customer_id,signup_date,channel\nC0001,2025-01-01,ads\n,2025-01-02,ads\nC0003,2025-01-03,ads\n"
    # headers
    out["header_only_customers.csv"] = b"customer_id,signup_date,channel\n"
    out["empty.csv"] = b""
    out["whitespace_only.csv"] = b"   \n\n\t\n"
    out["duplicate_headers_customers.csv"] = (b"customer_id,customer_id,signup_date,channel,channel\n"
                                              b"C0001,X1,2025-01-01,ads,a\nC0002,X2,2025-01-02,ads,b\n")
    out["sql_header_customers.csv"] = ('customer_id,signup_date,"""; DROP TABLE events; --",'
                                       '"x\'); DELETE FROM _kpi_datasets; --"\n'
                                       'C0001,2025-01-01,a,b\nC0002,2025-01-02,c,d\n').encode()
    out["formula_cells_customers.csv"] = ('customer_id,signup_date,channel\n'
                                          'C0001,2025-01-01,"=HYPERLINK(""http://evil.example"",""click"")"\n'
                                          'C0002,2025-01-02,+cmd|\' /C calc\'!A0\n'
                                          'C0003,2025-01-03,@SUM(1+1)\n').encode()
    out["unicode_header_customers.csv"] = "customer_id,signup_date,канал 📈,\u202eevil\n C0001 ,2025-01-01,x,y\nC0002,2025-01-02,z,w\n".encode()
    out["no_known_columns.csv"] = b"foo,bar,baz\n1,2,3\n4,5,6\n"
    out["single_column.csv"] = b"customer_id\nC0001\nC0002\n"
    out["missing_required_customers.csv"] = b"customer_id,channel\nC0001,ads\nC0002,ads\n"
    out["wide_10000_columns.csv"] = (",".join(["customer_id", "signup_date"] + [f"col{i}" for i in range(9998)]) + "\n"
                                     + ",".join(["C0001", "2025-01-01"] + ["1"] * 9998) + "\n").encode()
    # not text / not CSV
    out["really_a_zip.csv"] = _zip()
    out["really_a_png.csv"] = _png()
    out["really_a_pdf.csv"] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    out["really_html.csv"] = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1></body></html>\n"
    out["nul_bytes_customers.csv"] = CUSTOMERS.encode().replace(b"referral", b"ref\x00erral", 1)
    out["random_bytes.csv"] = bytes(rng.randrange(256) for _ in range(4096))
    out["truncated.parquet"] = _parquet_truncated()
    out["corrupt_customers.csv.gz"] = _gzip_corrupt()
    out["empty_gzip_customers.csv.gz"] = gzip.compress(b"", mtime=0)
    return out


def long_line_csv(folder: Path) -> Path:
    """A customers file whose second line is over 2 MB (one huge text cell); not kept in git."""
    path = folder / "long_line_customers.csv"
    path.write_bytes(b"customer_id,signup_date,channel\nC0001,2025-01-01," + b"x" * (2 * 1024 * 1024 + 10)
                     + b"\nC0002,2025-01-02,ads\n")
    return path


def main(folder: Path = HERE) -> list[Path]:
    written = []
    for name, data in files().items():
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p.name, p.stat().st_size)
