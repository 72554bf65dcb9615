# Optional: keyless deploys from GitHub Actions (.github/workflows/deploy.yml)
# through Workload Identity Federation. Only tokens minted by GitHub for
# var.github_repository can impersonate the deployer service account.

locals {
  github_enabled = var.github_repository != ""
}

resource "google_iam_workload_identity_pool" "github" {
  count = local.github_enabled ? 1 : 0

  workload_identity_pool_id = var.wif_pool_id
  display_name              = "GitHub Actions"
  description               = "Deploys of clay-function from GitHub Actions"

  depends_on = [google_project_service.apis]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  count = local.github_enabled ? 1 : 0

  workload_identity_pool_id          = google_iam_workload_identity_pool.github[0].workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub OIDC"
  attribute_mapping = {
    "google.subject"        = "assertion.sub"
    "attribute.repository"  = "assertion.repository"
    "attribute.ref"         = "assertion.ref"
    "attribute.environment" = "assertion.environment"
  }
  # Only jobs of this repository, on the deploy ref, running in the
  # `production` environment (so its required reviewers and branch rules
  # apply): any other workflow on main cannot mint deployer credentials.
  attribute_condition = "assertion.repository == '${var.github_repository}' && assertion.ref == '${var.github_deploy_ref}' && assertion.environment == 'production'"
  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deployer" {
  count = local.github_enabled ? 1 : 0

  account_id   = var.deployer_service_account_id
  display_name = "clay-function deployer (GitHub Actions)"

  depends_on = [google_project_service.apis]
}

resource "google_service_account_iam_member" "deployer_wif" {
  count = local.github_enabled ? 1 : 0

  service_account_id = google_service_account.deployer[0].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github[0].name}/attribute.repository/${var.github_repository}"
}

# Push images to the one repository.
resource "google_artifact_registry_repository_iam_member" "deployer_push" {
  count = local.github_enabled ? 1 : 0

  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.deployer[0].email}"
}

# Deploy new revisions of the one service (roles/run.developer cannot change IAM).
resource "google_cloud_run_v2_service_iam_member" "deployer_run" {
  count = local.github_enabled ? 1 : 0

  project  = google_cloud_run_v2_service.fn.project
  location = google_cloud_run_v2_service.fn.location
  name     = google_cloud_run_v2_service.fn.name
  role     = "roles/run.developer"
  member   = "serviceAccount:${google_service_account.deployer[0].email}"
}

# Revisions run as the runtime service account: the deployer must be allowed to act as it.
resource "google_service_account_iam_member" "deployer_acts_as_runtime" {
  count = local.github_enabled ? 1 : 0

  service_account_id = google_service_account.run.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer[0].email}"
}

# The smoke test after a deploy signs callbacks with the webhook secret: let
# the deployer read that one secret (not the redrive or relay tokens).
resource "google_secret_manager_secret_iam_member" "deployer_webhook_secret" {
  count = local.github_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.env["CLAY_WEBHOOK_SECRET"].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.deployer[0].email}"
}
