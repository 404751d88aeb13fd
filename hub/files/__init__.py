"""Where attachment bytes live and what they are: the file store port
(``store``) and its adapters (``local``, ``s3``), content checks
(``checks``), and HMAC-signed URLs for the local store (``signing``)."""
