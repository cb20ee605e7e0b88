"""gunicorn's settings for the Procfile's web process (gunicorn reads this file at start)."""

# Paths without their query strings, and no Referer: a monitor's search (`/admin/?q=...`)
# holds words of workers' texts, which must never reach a log. No client address either.
accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
