# Cloud Scheduler resumes pending events every minute: POST /internal/redrive
# with `Authorization: Bearer <REDRIVE_TOKEN>`.
#
# Why a bearer token and not OIDC: the service is public (Clay cannot send
# Google identity tokens), so Cloud Run's IAM check does not run for any
# caller, and an OIDC token from Scheduler would reach the function
# unverified. The function checks REDRIVE_TOKEN itself, in constant time. The
# header value is stored in the job's configuration, readable by principals
# with cloudscheduler.jobs.get on the project: treat that permission as
# access to the token (rotate it by changing var.redrive_token and applying).

resource "google_cloud_scheduler_job" "redrive" {
  count = var.redrive_schedule != "" ? 1 : 0

  name             = "${var.service_name}-redrive"
  description      = "Resume clay-function events whose lease expired."
  region           = local.scheduler_region
  schedule         = var.redrive_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "60s"

  # The next tick is a minute away: no retries of a missed one.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = "${google_cloud_run_v2_service.fn.uri}/internal/redrive"
    body        = base64encode("{}")
    headers = {
      "Authorization" = "Bearer ${local.secret_values.REDRIVE_TOKEN}"
      "Content-Type"  = "application/json"
    }
  }

  depends_on = [google_project_service.apis]
}
