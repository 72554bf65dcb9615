# Secrets the function reads through value_source.secret_key_ref. Values come
# from the variables when set, else they are generated here. Either way they
# are in the Terraform state: keep the state in a private bucket.

resource "random_password" "webhook_secret" {
  length  = 48
  special = false
}

resource "random_password" "redrive_token" {
  length  = 48
  special = false
}

resource "random_password" "relay_token" {
  length  = 48
  special = false
}

locals {
  secret_values = {
    CLAY_WEBHOOK_SECRET = var.clay_webhook_secret != "" ? var.clay_webhook_secret : random_password.webhook_secret.result
    REDRIVE_TOKEN       = var.redrive_token != "" ? var.redrive_token : random_password.redrive_token.result
    RELAY_TOKEN         = var.relay_token != "" ? var.relay_token : random_password.relay_token.result
    CLAY_WEBHOOK_AUTH   = var.clay_webhook_auth
  }
}

resource "google_secret_manager_secret" "env" {
  for_each = local.secret_ids

  secret_id = each.value
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "env" {
  for_each = local.secret_ids

  secret      = google_secret_manager_secret.env[each.key].id
  secret_data = local.secret_values[each.key]

  # The service reads this exact version. A new value makes a new version
  # first, the service then rolls a revision reading it, and only then is the
  # old version destroyed: no instance ever reads a destroyed version.
  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = each.key != "CLAY_WEBHOOK_AUTH" || var.clay_webhook_auth != ""
      error_message = "clay_webhook_urls is set (the relay is on): set clay_webhook_auth to the token Clay showed when the webhook was created."
    }
  }
}

resource "google_secret_manager_secret_iam_member" "run_access" {
  for_each = local.secret_ids

  secret_id = google_secret_manager_secret.env[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.run.email}"
}
