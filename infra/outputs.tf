output "service_url" {
  description = "Base URL of the Cloud Run service."
  value       = google_cloud_run_v2_service.fn.uri
}

output "clay_column_url" {
  description = "The URL to paste into Clay's HTTP API column (method POST)."
  value       = "${google_cloud_run_v2_service.fn.uri}/api/clay/enriched"
}

output "bucket" {
  description = "Name of the GCS idempotency bucket (STORE_URL is gs://<bucket>)."
  value       = google_storage_bucket.idempotency.name
}

output "service_account_email" {
  description = "Runtime service account of the function."
  value       = google_service_account.run.email
}

output "image_repository" {
  description = "Artifact Registry path to push images to (append /clay-function:<tag>)."
  value       = local.image_repo
}

output "clay_webhook_secret" {
  description = "The secret to put in the Clay column's X-Clay-Secret header (terraform output -raw clay_webhook_secret)."
  value       = local.secret_values.CLAY_WEBHOOK_SECRET
  sensitive   = true
}

output "redrive_token" {
  description = "Bearer token of POST /internal/redrive (also used by the Scheduler job)."
  value       = local.secret_values.REDRIVE_TOKEN
  sensitive   = true
}

output "relay_token" {
  description = "Bearer token of POST /api/clay/rows (null while the relay is off)."
  value       = local.relay_enabled ? local.secret_values.RELAY_TOKEN : null
  sensitive   = true
}

output "secret_ids" {
  description = "Secret Manager secret ids by environment variable."
  value       = local.secret_ids
}

output "workload_identity_provider" {
  description = "For the deploy workflow's GCP_WORKLOAD_IDENTITY_PROVIDER variable (null without github_repository)."
  value       = one(google_iam_workload_identity_pool_provider.github[*].name)
}

output "deployer_service_account" {
  description = "For the deploy workflow's GCP_SERVICE_ACCOUNT variable (null without github_repository)."
  value       = one(google_service_account.deployer[*].email)
}
