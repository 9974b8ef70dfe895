FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
# mockserver/data/specs links to the one copy of the OpenAPI documents
COPY specs ./specs
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 mock \
    && mkdir -p /data && chown mock /data
USER mock
# Empty: the world lives in SQLite under /data (one host). postgresql://user:pass@host/db:
# it lives in that database, shared by every replica pointed at it (deploy/docker-compose.yml).
ENV MOCKSERVER_DATABASE_URL=""
# Bound to 0.0.0.0, so the control plane needs a token: set MOCKSERVER_CONTROL_TOKEN, or
# read the one generated at start from the log (`docker logs`: "control token ...").
EXPOSE 8000
ENTRYPOINT ["mockserver", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
CMD ["--seed", "demo"]
