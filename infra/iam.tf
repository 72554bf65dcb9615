# The service's identity. It can touch objects in the idempotency bucket and
# read its own secrets: nothing else in the project.

resource "google_service_account" "run" {
  account_id   = var.service_account_id
  display_name = "clay-function (Cloud Run runtime)"
  description  = "Runs clay-function: objects of the idempotency bucket, its own secrets, nothing else."

  depends_on = [google_project_service.apis]
}

# The function needs exactly: create (create-only writes), get (read an event,
# check a claim), list (redrive scans pending/) and delete (pending/ markers).
# It never overwrites or changes metadata, so by default a custom role grants
# just those four; roles/storage.objectUser (predefined) would also allow
# update, overwrite and restore. The role is bound on the bucket only.
resource "google_project_iam_custom_role" "store" {
  count = var.storage_role == "custom" ? 1 : 0

  role_id     = var.custom_role_id
  title       = "clay-function idempotency store"
  description = "Create-only writes, reads, listing and deletes of objects (bound on one bucket)."
  permissions = [
    "storage.objects.create",
    "storage.objects.delete",
    "storage.objects.get",
    "storage.objects.list",
  ]
}

resource "google_storage_bucket_iam_member" "run_store" {
  bucket = google_storage_bucket.idempotency.name
  role   = var.storage_role == "custom" ? google_project_iam_custom_role.store[0].id : "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.run.email}"
}
