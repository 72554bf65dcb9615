terraform {
  # Optional-attribute handling, `one()`, `endswith()` and check blocks need 1.5.
  required_version = ">= 1.5"

  required_providers {
    # 6.x with google_cloud_run_v2_service.invoker_iam_disabled. The lower
    # bound is the schema scripts/check-infra.sh checks every attribute
    # against (@cdktf/provider-google 16.12.1 = hashicorp/google 6.50.0).
    google = {
      source  = "hashicorp/google"
      version = ">= 6.50, < 7.0"
    }
    # Generates the webhook secret and bearer tokens when none are given.
    random = {
      source  = "hashicorp/random"
      version = ">= 3.5, < 4.0"
    }
  }
}
