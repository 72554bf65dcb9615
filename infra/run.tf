# The Cloud Run service. Terraform owns its configuration; the deploy workflow
# (gcloud run deploy --image ... --no-traffic --tag, then update-traffic) owns
# the image and the traffic, so both are ignored after creation and a later
# `terraform apply` does not roll a deploy back.
#
# Clay's HTTP API column cannot obtain Google identity tokens, so the service
# is public (invoker_iam_disabled); every callback is authenticated by the
# function itself (X-Clay-Secret / HMAC / Standard Webhooks) before any work,
# and /internal/redrive and /api/clay/rows need bearer tokens.

resource "google_cloud_run_v2_service" "fn" {
  name                = var.service_name
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = var.deletion_protection
  labels              = var.labels
  # Public without an allUsers binding: Cloud Run skips its IAM invoker check
  # for this service, which Domain Restricted Sharing (the default of newer
  # organisations) does not refuse. The function authenticates every callback.
  invoker_iam_disabled = var.allow_unauthenticated

  template {
    service_account                  = google_service_account.run.email
    timeout                          = "${var.request_timeout_s}s"
    max_instance_request_concurrency = var.concurrency
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = local.image
      # The image's ENTRYPOINT/CMD run `clay-function serve`.

      ports {
        # "h2c": Cloud Run speaks cleartext HTTP/2 to the container end to end;
        # main.tf then sets H2C=1 (the server serves HTTP/1.1 only without it).
        name           = var.use_http2 ? "h2c" : "http1"
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        # true: CPU only while requests are in flight. Safe here: an event is
        # durable before any 2xx, and redrive finishes what was left pending.
        cpu_idle          = var.cpu_idle
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.run_env_set
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.secret_ids
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret = google_secret_manager_secret.env[env.key].secret_id
              # The pinned version (not "latest"): rotating the secret changes
              # the template, so Terraform rolls a new revision that reads it.
              version = google_secret_manager_secret_version.env[env.key].version
            }
          }
        }
      }

      # Traffic only once /readyz answers 200: the config is usable and the
      # store answers (a revision with broken bucket permissions never starts).
      # Cloud Run probes over HTTP/1.1, which the server answers with h2c on too.
      startup_probe {
        http_get {
          path = "/readyz"
          port = 8080
        }
        initial_delay_seconds = 0
        period_seconds        = 1
        timeout_seconds       = 1
        failure_threshold     = 30
      }

      # Cloud Run sends HTTP/1.1 probes; the server answers HTTP/1.1 on the
      # same port whether or not h2c is on. /healthz is cheap and touches no store.
      liveness_probe {
        http_get {
          path = "/healthz"
          port = 8080
        }
        initial_delay_seconds = 0
        period_seconds        = 15
        timeout_seconds       = 2
        failure_threshold     = 3
      }
    }
  }

  # The deploy workflow owns the image and the traffic split (revisions start
  # with no traffic and a tag, then take traffic after the smoke test). It
  # leaves traffic on LATEST, so a revision Terraform rolls (a rotated secret)
  # takes traffic; after a rollback traffic is pinned until
  # `gcloud run services update-traffic --to-latest` (docs/deploy.md).
  lifecycle {
    ignore_changes = [
      template[0].containers[0].image,
      traffic,
      client,
      client_version,
    ]
  }

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_version.env,
    google_secret_manager_secret_iam_member.run_access,
    google_storage_bucket_iam_member.run_store,
  ]
}
