# clay-webhooks on Google Cloud: the Cloud Run service `clay-function`, its GCS
# idempotency bucket, a least-privilege service account, Secret Manager
# secrets, the per-minute redrive job and (optionally) Workload Identity
# Federation for the GitHub deploy workflow. See README.md beside this file.

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  apis = [
    "artifactregistry.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
  ]

  bucket_name      = var.bucket_name != "" ? var.bucket_name : "${var.project_id}-clay-idempotency"
  bucket_location  = var.bucket_location != "" ? var.bucket_location : upper(var.region)
  image_repo       = "${var.region}-docker.pkg.dev/${var.project_id}/${var.repository_id}"
  image            = var.image != "" ? var.image : "${local.image_repo}/clay-function:latest"
  scheduler_region = var.scheduler_region != "" ? var.scheduler_region : var.region
  relay_enabled    = var.clay_webhook_urls != ""

  # Plain environment of the container. A null or "" value leaves the variable
  # unset, so the function's own default applies (`clay-function --help`).
  # scripts/check-infra.sh reads these keys: each must be a variable the
  # function reads, and each variable it reads must be here, in
  # run_secret_env, or in README.md's "Optional variables" table.
  run_env = {
    STORE_URL             = "gs://${google_storage_bucket.idempotency.name}"
    STORE_PREFIX          = var.store_prefix
    GOOGLE_CLOUD_PROJECT  = var.project_id
    AUTH_SCHEMES          = var.auth_schemes
    SIGNATURE_TOLERANCE_S = var.signature_tolerance_s
    IDEMPOTENCY_FIELDS    = var.idempotency_fields
    MAX_BODY_BYTES        = var.max_body_bytes
    # h2c only with an h2c port: the default http1 port has Google's front end
    # end HTTP/2, and the server then refuses h2c (issue 12 point 2).
    H2C                   = var.use_http2 ? "1" : null
    WORKERS               = var.workers
    LEASE_S               = var.lease_s
    REDRIVE_MAX_BACKOFF_S = var.redrive_max_backoff_s
    OUTREACH_MIN_SCORE    = var.outreach_min_score
    NURTURE_MIN_SCORE     = var.nurture_min_score
    SLACK_MIN_SCORE       = var.slack_min_score
    OUTREACH_WEBHOOK_URL  = var.outreach_webhook_url
    NURTURE_WEBHOOK_URL   = var.nurture_webhook_url
    ZAPIER_WEBHOOK_URL    = var.zapier_webhook_url
    SLACK_WEBHOOK_URL     = var.slack_webhook_url
    SINK_TIMEOUT_MS       = var.sink_timeout_ms
    DELIVERY_DEADLINE_MS  = var.delivery_deadline_ms
    CLAY_WEBHOOK_URLS     = var.clay_webhook_urls
    CLAY_WEBHOOK_LIMIT    = var.clay_webhook_limit
    CLAY_RATE             = var.clay_rate
    CLAY_BURST            = var.clay_burst
    LOG_LEVEL             = var.log_level
    LOG_PII               = var.log_pii ? "1" : null
  }
  run_env_set = { for k, v in local.run_env : k => tostring(v) if v != null && v != "" }

  # Variables read from Secret Manager (value_source.secret_key_ref), and
  # whether each exists. Kept apart from the values, which are sensitive and
  # so cannot drive for_each.
  run_secret_env = {
    CLAY_WEBHOOK_SECRET = true
    REDRIVE_TOKEN       = true
    RELAY_TOKEN         = local.relay_enabled
    CLAY_WEBHOOK_AUTH   = local.relay_enabled
  }
  secret_names = toset([for k, on in local.run_secret_env : k if on])
  secret_ids   = { for k in local.secret_names : k => "${var.service_name}-${lower(replace(k, "_", "-"))}" }
}

resource "google_project_service" "apis" {
  for_each = var.enable_apis ? toset(local.apis) : toset([])

  service            = each.value
  disable_on_destroy = false
}
