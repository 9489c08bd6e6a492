# The official Airflow image plus the outcall provider, built from this source tree.
# docker-compose.yml builds it (`docker-compose build`) and every Airflow service runs it.
# A team that already has an image adds the same RUN line to its own Dockerfile (README).

# Stage 1: the wheel, built from the source (.dockerignore keeps the rest out).
FROM apache/airflow:3.3.2-python3.11 AS wheel
COPY --chown=airflow:0 . /tmp/outcall-src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/dist /tmp/outcall-src

# Stage 2: install the wheel as the `airflow` user (the image refuses pip as root), with the
# image's own Airflow pinned so pip can neither up- nor downgrade it. This line is also the
# command tests/packaging/test_install_as_user.py runs: keep it on one line.
FROM apache/airflow:3.3.2-python3.11
COPY --from=wheel /tmp/dist/ /tmp/dist/
USER airflow
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /tmp/dist/airflow_provider_outcall-*.whl
