"""The network front of ``mockserver serve``: HTTPS on the vendor host names and a forward proxy.

``authority.py`` keeps a local certificate authority and the leaf certificate the emulator
serves; ``proxy.py`` is the forward proxy that sends a client's ``CONNECT app.parkpow.com:443``
to the emulator's HTTPS port; ``proxy_process.py`` runs it beside the WSGI server.
"""
