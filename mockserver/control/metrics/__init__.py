"""``/_mock/metrics``: what the server sees, in Prometheus' text format.

Every figure comes from the store (``core/tally.py`` and the world's own tables), so any
worker of any host answers with the same world: the request layer (``layer.py``) counts
each exchange in memory, the tally writes the counts within a fraction of a second, and the
exposition (``exposition.py``) waits that long, then reads them with the gauges of the
moment (due work, journal, sizes). The dashboard's rates over time (``rates.py``) read the same counts per interval.
"""
