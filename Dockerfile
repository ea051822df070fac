# The project's own image: Airflow 3.3.2 on Python 3.11 with the pinned dependencies and the project code.
FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root requirements.lock /opt/dealer_dw/requirements.lock
RUN pip install --no-cache-dir uv==0.13.9 \
    && uv pip install --no-cache --python "$(command -v python)" -r /opt/dealer_dw/requirements.lock \
    && uv pip install --no-cache --python "$(command -v python)" "apache-airflow-providers-celery" "redis"

COPY --chown=airflow:root . /opt/dealer_dw
WORKDIR /opt/dealer_dw
ENV PYTHONPATH=/opt/dealer_dw \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/dealer_dw/dags \
    DW_HOME=/opt/airflow/dw
