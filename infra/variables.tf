# ---------------------------------------------------------------------------
# Project and names
# ---------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project id to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run service, the Artifact Registry repository and (by default) the bucket and the Scheduler job."
  type        = string
  default     = "us-central1"
}

variable "service_name" {
  description = "Cloud Run service name; also the prefix of the secret ids and the Scheduler job."
  type        = string
  default     = "clay-function"
}

variable "labels" {
  description = "Labels put on the bucket, the service, the secrets and the repository."
  type        = map(string)
  default     = { app = "clay-webhooks" }
}

variable "enable_apis" {
  description = "Enable the Google APIs this stack uses (Run, Artifact Registry, Secret Manager, Scheduler, IAM, STS, Storage). Never disables them on destroy."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to destroy the Cloud Run service. The service holds no state (the bucket does), so off by default."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# Image
# ---------------------------------------------------------------------------

variable "repository_id" {
  description = "Artifact Registry (Docker) repository id."
  type        = string
  default     = "clay-webhooks"
}

variable "image" {
  description = "Image of the first revision. Empty: <region>-docker.pkg.dev/<project>/<repository_id>/clay-function:latest. Later deploys change the image with gcloud (Terraform ignores it after creation)."
  type        = string
  default     = ""
}

variable "images_to_keep" {
  description = "Artifact Registry cleanup: keep this many most recent image versions; older ones are deleted after 30 days."
  type        = number
  default     = 10
}

# ---------------------------------------------------------------------------
# Idempotency store
# ---------------------------------------------------------------------------

variable "bucket_name" {
  description = "GCS bucket for the idempotency store (globally unique). Empty: <project_id>-clay-idempotency."
  type        = string
  default     = ""
}

variable "bucket_location" {
  description = "Bucket location. Empty: the region (same-region storage keeps callback latency low)."
  type        = string
  default     = ""
}

variable "store_prefix" {
  description = "STORE_PREFIX: prefix of every object name (e.g. \"prod/\"), to share one bucket between deployments. Empty or ending with '/'."
  type        = string
  default     = ""

  validation {
    condition     = var.store_prefix == "" || endswith(var.store_prefix, "/")
    error_message = "store_prefix must be empty or end with '/'."
  }
}

variable "retention_days" {
  description = "Days after which events/, done/, sent/ and leases/ objects are deleted. A Clay row re-sent within this window is answered \"duplicate\"; after it, it is processed again."
  type        = number
  default     = 30

  validation {
    condition     = var.retention_days >= 1
    error_message = "retention_days must be at least 1."
  }
}

variable "dead_letter_retention_days" {
  description = "Days after which failed/ (dead-letter) objects are deleted; 0 keeps them until removed by hand."
  type        = number
  default     = 0
}

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its objects (the idempotency history)."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------

variable "service_account_id" {
  description = "Account id of the runtime service account."
  type        = string
  default     = "clay-function"
}

variable "storage_role" {
  description = "Bucket role of the runtime account: \"custom\" (objects create/get/list/delete only) or \"objectUser\" (roles/storage.objectUser: also overwrite, update and restore; use it where custom roles are not allowed)."
  type        = string
  default     = "custom"

  validation {
    condition     = contains(["custom", "objectUser"], var.storage_role)
    error_message = "storage_role must be \"custom\" or \"objectUser\"."
  }
}

variable "custom_role_id" {
  description = "Id of the project-level custom role used when storage_role is \"custom\"."
  type        = string
  default     = "clayFunctionStore"
}

# ---------------------------------------------------------------------------
# Cloud Run
# ---------------------------------------------------------------------------

variable "allow_unauthenticated" {
  description = "Make the service public with invoker_iam_disabled (no allUsers binding, so Domain Restricted Sharing does not refuse it). Clay cannot send Google identity tokens, so its HTTP API column needs this; the function authenticates every callback itself."
  type        = bool
  default     = true
}

variable "min_instances" {
  description = "Minimum instances (0 scales to zero; 1 avoids cold starts on the first callback)."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Maximum instances."
  type        = number
  default     = 10
}

variable "concurrency" {
  description = "max_instance_request_concurrency: concurrent requests per instance."
  type        = number
  default     = 80
}

variable "request_timeout_s" {
  description = "Cloud Run request timeout in seconds (callbacks answer within DELIVERY_DEADLINE_MS plus store time)."
  type        = number
  default     = 60
}

variable "cpu" {
  description = "CPU limit per instance."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory limit per instance."
  type        = string
  default     = "512Mi"
}

variable "cpu_idle" {
  description = "Request-based billing: CPU only while requests are in flight (true), or always allocated (false)."
  type        = bool
  default     = true
}

variable "use_http2" {
  description = "End-to-end HTTP/2: name the container port \"h2c\" so Cloud Run speaks cleartext HTTP/2 to the container."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# Function configuration (environment variables; null or "" keeps the
# function's default, listed by `clay-function --help`)
# ---------------------------------------------------------------------------

variable "auth_schemes" {
  description = "AUTH_SCHEMES: enabled callback authentication schemes (static, hmac, standard, comma-separated, or all). Clay columns use static."
  type        = string
  default     = "all"
}

variable "signature_tolerance_s" {
  description = "SIGNATURE_TOLERANCE_S: Standard Webhooks timestamp tolerance in seconds (null: 300)."
  type        = number
  default     = null
}

variable "idempotency_fields" {
  description = "IDEMPOTENCY_FIELDS: body fields forming the idempotency key when a callback has no Idempotency-Key or webhook-id header (comma-separated)."
  type        = string
  default     = ""
}

variable "max_body_bytes" {
  description = "MAX_BODY_BYTES: largest accepted callback body (null: 1 MiB)."
  type        = number
  default     = null
}

variable "workers" {
  description = "WORKERS: event-loop threads (null: the CPUs available to the instance)."
  type        = number
  default     = null
}

variable "lease_s" {
  description = "LEASE_S: seconds an instance owns an event it is processing (null: 30)."
  type        = number
  default     = null
}

variable "redrive_max_backoff_s" {
  description = "REDRIVE_MAX_BACKOFF_S: cap of the doubling wait between redrive attempts of one event (null: 3600)."
  type        = number
  default     = null
}

variable "outreach_min_score" {
  description = "OUTREACH_MIN_SCORE: icp_score from which a lead with an email goes to outreach."
  type        = number
  default     = 80
}

variable "nurture_min_score" {
  description = "NURTURE_MIN_SCORE: icp_score from which a lead goes to nurture (at most outreach_min_score)."
  type        = number
  default     = 50
}

variable "slack_min_score" {
  description = "SLACK_MIN_SCORE: icp_score from which Slack is notified."
  type        = number
  default     = 90
}

variable "outreach_webhook_url" {
  description = "OUTREACH_WEBHOOK_URL: sink for outreach leads (empty: off)."
  type        = string
  default     = ""
}

variable "nurture_webhook_url" {
  description = "NURTURE_WEBHOOK_URL: sink for nurture leads (empty: off)."
  type        = string
  default     = ""
}

variable "zapier_webhook_url" {
  description = "ZAPIER_WEBHOOK_URL: Zapier catch hook receiving every outreach and nurture lead (empty: off). Stored as a plain environment variable."
  type        = string
  default     = ""
}

variable "slack_webhook_url" {
  description = "SLACK_WEBHOOK_URL: Slack incoming webhook for hot leads (empty: off). Stored as a plain environment variable."
  type        = string
  default     = ""
}

variable "sink_timeout_ms" {
  description = "SINK_TIMEOUT_MS: timeout of one delivery attempt (null: 5000)."
  type        = number
  default     = null
}

variable "delivery_deadline_ms" {
  description = "DELIVERY_DEADLINE_MS: inline retry budget before a callback is answered 202 and left to redrive (null: 8000)."
  type        = number
  default     = null
}

variable "log_level" {
  description = "LOG_LEVEL: debug, info, warning or error."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warning", "error"], var.log_level)
    error_message = "log_level must be debug, info, warning or error."
  }
}

variable "log_pii" {
  description = "LOG_PII: allow email addresses in logs."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# Secrets (empty: generated; all end up in Secret Manager and in the state)
# ---------------------------------------------------------------------------

variable "clay_webhook_secret" {
  description = "CLAY_WEBHOOK_SECRET: secret(s) callbacks must carry (comma-separated for rotation). Empty: a random 48-character secret."
  type        = string
  default     = ""
  sensitive   = true
}

variable "redrive_token" {
  description = "REDRIVE_TOKEN: bearer token of POST /internal/redrive, sent by the Scheduler job. Empty: random."
  type        = string
  default     = ""
  sensitive   = true
}

variable "redrive_schedule" {
  description = "Cron schedule of the redrive job (UTC). Empty: no job (run `clay-function redrive` yourself)."
  type        = string
  default     = "* * * * *"
}

variable "scheduler_region" {
  description = "Region of the Scheduler job. Empty: the region."
  type        = string
  default     = ""
}

# ---------------------------------------------------------------------------
# Relay: rows into Clay tables (POST /api/clay/rows)
# ---------------------------------------------------------------------------

variable "clay_webhook_urls" {
  description = "CLAY_WEBHOOK_URLS: Clay table webhook URLs, comma-separated (rotation). Non-empty turns the relay on, with RELAY_TOKEN and CLAY_WEBHOOK_AUTH secrets."
  type        = string
  default     = ""
}

variable "clay_webhook_auth" {
  description = "CLAY_WEBHOOK_AUTH: the token Clay shows when the table's webhook is created (sent as x-clay-webhook-auth). Required with clay_webhook_urls."
  type        = string
  default     = ""
  sensitive   = true
}

variable "relay_token" {
  description = "RELAY_TOKEN: bearer token of POST /api/clay/rows. Empty: random."
  type        = string
  default     = ""
  sensitive   = true
}

variable "clay_webhook_limit" {
  description = "CLAY_WEBHOOK_LIMIT: submissions per Clay webhook URL before rotating (null: 50000)."
  type        = number
  default     = null
}

variable "clay_rate" {
  description = "CLAY_RATE: rows per second sent to Clay (null: 10)."
  type        = number
  default     = null
}

variable "clay_burst" {
  description = "CLAY_BURST: burst of rows sent to Clay (null: 20)."
  type        = number
  default     = null
}

# ---------------------------------------------------------------------------
# GitHub Actions deploys (Workload Identity Federation)
# ---------------------------------------------------------------------------

variable "github_repository" {
  description = "\"owner/name\" of YOUR GitHub repository allowed to deploy, or \"\" for no pool, provider or deployer account. No default: a placeholder repository would let whoever owns it deploy."
  type        = string

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be \"owner/name\" or \"\"."
  }
  validation {
    condition     = !contains(["my-org", "your-org", "example", "owner", "org", "acme"], lower(split("/", "${var.github_repository}/")[0]))
    error_message = "github_repository names a placeholder owner: set your own repository (or \"\")."
  }
}

variable "github_deploy_ref" {
  description = "Git ref allowed to deploy (the trust condition also requires the `production` environment)."
  type        = string
  default     = "refs/heads/main"

  validation {
    condition     = startswith(var.github_deploy_ref, "refs/")
    error_message = "github_deploy_ref must be a full ref such as refs/heads/main."
  }
}

variable "wif_pool_id" {
  description = "Workload identity pool id."
  type        = string
  default     = "github-actions"
}

variable "deployer_service_account_id" {
  description = "Account id of the deployer service account impersonated by GitHub Actions."
  type        = string
  default     = "clay-function-deployer"
}
