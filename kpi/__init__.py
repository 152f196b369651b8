"""KPI Explorer's core: datasets, the DuckDB workspace, the KPI catalog, computation and goals.

Pure Python and DuckDB; nothing here imports Streamlit (a test checks it).
"""
__version__ = "0.1.0"

import logging

# A library logs; the program that uses it decides where the lines go (the app: the server's log).
logging.getLogger(__name__).addHandler(logging.NullHandler())
