import json

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from cadcam.s3_settings import bucket_cors_rules
from cadcam.storage import is_s3, private_storage


class Command(BaseCommand):
    help = (
        "Set up the S3 bucket(s) for this site: the CORS rules direct uploads and the 3D preview need, "
        "a lifecycle rule that clears unused uploads, and (with --public-policy) a policy that lets anyone "
        "read public media. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--origin", action="append", dest="origins", default=None,
                            help="An origin the site is served from (default: https://SITE_DOMAIN). Repeatable.")
        parser.add_argument("--public-policy", action="store_true",
                            help="Let anyone read the public media prefix (for buckets that refuse ACLs).")

    def handle(self, *args, origins=None, public_policy=False, **options):
        public, private = storages["default"], private_storage()
        if not is_s3(private):
            raise CommandError("Files are on the local disk: set AWS_STORAGE_BUCKET_NAME first.")
        origins = origins or [f"{'http' if settings.DEBUG else 'https'}://{settings.SITE_DOMAIN}"]
        client = private.client
        try:
            client.put_bucket_cors(Bucket=private.bucket_name,
                                   CORSConfiguration={"CORSRules": bucket_cors_rules(origins)})
        except ClientError as error:
            if error.response["Error"]["Code"] != "NotImplemented":
                raise
            # MinIO takes no per-bucket CORS rules: it answers any origin itself.
            self.stdout.write(self.style.WARNING(f"{private.bucket_name}: this service takes no CORS rules."))
        # A safety net under the sweep (cadcam/direct_uploads.py), which deletes unused uploads
        # after a day and moves attached ones within minutes: a week leaves room for an outage.
        uploads = private.key("uploads") + "/"
        client.put_bucket_lifecycle_configuration(Bucket=private.bucket_name, LifecycleConfiguration={"Rules": [{
            "ID": "cadcam-unused-uploads", "Status": "Enabled", "Filter": {"Prefix": uploads},
            "Expiration": {"Days": 7}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }]})
        self.stdout.write(f"{private.bucket_name}: CORS for {', '.join(origins)}; uploads under {uploads} expire.")
        if public_policy:
            prefix = public.key("x")[:-1]
            policy = {"Version": "2012-10-17", "Statement": [{
                "Sid": "CadcamPublicMedia", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{public.bucket_name}/{prefix}*",
            }]}
            public.client.put_bucket_policy(Bucket=public.bucket_name, Policy=json.dumps(policy))
            self.stdout.write(f"{public.bucket_name}: anyone may read {prefix}*.")
