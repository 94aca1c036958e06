"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over LAPOR, served under /open311/v2/.

`mapping` is the pure translation between LAPOR and Open311 (services, statuses, datetimes, tokens, the
POST form); `formats` renders it as the spec's JSON and XML; `reads` fetches public reports with the same
visibility rule and the same indexes as the public JSON API. The routes are in chalicelib/http/open311_routes.py.
"""
