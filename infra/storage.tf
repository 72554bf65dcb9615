# The idempotency store: every event name is written create-only
# (x-goog-if-generation-match: 0), so the bucket never needs versioning.

resource "google_storage_bucket" "idempotency" {
  name                        = local.bucket_name
  location                    = local.bucket_location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.bucket_force_destroy
  labels                      = var.labels

  # Soft delete keeps deleted objects (7 days by default) and bills for them:
  # wasteful for many small short-lived objects like pending/ markers.
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  versioning {
    enabled = false
  }

  # Finished work ages out after retention_days. Within that window a repeated
  # Clay row (same Idempotency-Key) is answered "duplicate"; after it, the row
  # would be processed again. pending/ is removed by the function itself and
  # failed/ (dead letters) is kept for `clay-function redrive --list-failed`
  # unless dead_letter_retention_days is set. `age` counts from the midnight
  # after creation; GCS may apply deletions up to a day late.
  lifecycle_rule {
    condition {
      age            = var.retention_days
      matches_prefix = [for p in ["events/", "done/", "sent/", "leases/"] : "${var.store_prefix}${p}"]
    }
    action {
      type = "Delete"
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.dead_letter_retention_days > 0 ? [var.dead_letter_retention_days] : []
    content {
      condition {
        age            = lifecycle_rule.value
        matches_prefix = ["${var.store_prefix}failed/"]
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "clay-function container images"
  labels        = var.labels

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.images_to_keep
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s" # 30 days; the keep-recent policy wins over this one
    }
  }

  depends_on = [google_project_service.apis]
}
