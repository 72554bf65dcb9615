terraform {
  # Optional-attribute handling, `one()`, `endswith()` and check blocks need 1.5.
  required_version = ">= 1.5"

  required_providers {
    # 6.x: google_cloud_run_v2_service has deletion_protection (a 6.0 addition).
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 7.0"
    }
    # Generates the webhook secret and bearer tokens when none are given.
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5, < 4.0"
    }
  }
}
