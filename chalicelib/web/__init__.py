"""The citizen web pages: report, track and read public reports, in plain HTML forms that need no JavaScript.

`pages` declares the routes (through chalicelib.http.endpoint, like the JSON API) and drives the same command
and read paths as the API; `render` owns the templates and the headers every page carries; `csrf` the forms'
tokens; `texts` the words in Bahasa Indonesia and English and how dates read in WIB/WITA/WIT.
"""
