"""The STORAGES entries for S3 (or any S3-compatible service), as plain data.

settings.py calls `s3_storages(...)` when AWS_STORAGE_BUCKET_NAME is set, and the tests call it
to point the same configuration at their local S3 server. It imports nothing, so settings can
use it before Django is set up.
"""

# Public images get a fresh name on every save (cadcam.storage.PublicS3Storage), so a URL
# never changes content and browsers and CDNs may keep it for a year.
PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"


def s3_storages(*, bucket: str, private_bucket: str = "", endpoint_url: str | None = None,
                browser_endpoint_url: str | None = None, region_name: str | None = None,
                access_key: str | None = None, secret_key: str | None = None,
                public_location: str = "media", private_location: str = "private",
                public_acl: str | None = "public-read", private_acl: str | None = "private",
                custom_domain: str | None = None,
                url_protocol: str = "https:", addressing_style: str | None = None,
                signed_url_seconds: int = 300) -> dict:
    """"default" (public media: photos, listing images) and "private" (case files, deliveries,
    attachments, ID documents): two prefixes of one bucket, or two buckets, with separate ACLs."""
    common = {
        "endpoint_url": endpoint_url or None,
        "browser_endpoint_url": browser_endpoint_url or None,
        "region_name": region_name or None,
        "signature_version": "s3v4",
        "addressing_style": addressing_style or None,
        "file_overwrite": False,
    }
    if access_key:
        common |= {"access_key": access_key, "secret_key": secret_key}
    return {
        "default": {
            "BACKEND": "cadcam.storage.PublicS3Storage",
            "OPTIONS": common | {
                "bucket_name": bucket,
                "location": public_location,
                "default_acl": public_acl or None,
                "querystring_auth": False,
                "custom_domain": custom_domain or None,
                "url_protocol": url_protocol,
                "object_parameters": {"CacheControl": PUBLIC_CACHE_CONTROL},
            },
        },
        "private": {
            "BACKEND": "cadcam.storage.PrivateS3Storage",
            "OPTIONS": common | {
                "bucket_name": private_bucket or bucket,
                "location": private_location,
                "default_acl": private_acl or None,
                "querystring_auth": True,
                "querystring_expire": signed_url_seconds,
            },
        },
    }


def bucket_cors_rules(origins: list[str]) -> list[dict]:
    """The CORS rules the private bucket needs: the browser posts files and parts to it (POST,
    PUT) and the 3D preview reads files through signed URLs (GET). `s3_setup` applies them."""
    return [{
        "AllowedOrigins": origins,
        "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "Content-Length"],
        "MaxAgeSeconds": 3600,
    }]
