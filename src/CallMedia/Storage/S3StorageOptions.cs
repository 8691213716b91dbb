namespace CallMedia.Storage;

/// <summary>
/// <c>Storage:S3</c>: where the bucket is and how to sign in to it. Credentials not given here come from the standard
/// AWS environment variables (<c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c>, <c>AWS_SESSION_TOKEN</c>).
/// </summary>
public sealed class S3StorageOptions
{
    /// <summary>The endpoint (<c>http://rgw.example:7480</c>); empty for AWS itself (the region picks the endpoint).</summary>
    public string? ServiceUrl { get; set; }

    public string? Bucket { get; set; }

    public string Region { get; set; } = "us-east-1";

    /// <summary>Path-style addressing (<c>host/bucket/key</c>), which most self-hosted stores (Ceph, MinIO) need.</summary>
    public bool PathStyle { get; set; } = true;

    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Objects at least this large are uploaded in parts of this size (MiB), a few at a time.</summary>
    public int PartSizeMiB { get; set; } = 16;

    /// <summary>Reads from the bucket go in ranged GETs growing up to this size (MiB), the next one asked for before the current one ends.</summary>
    public int ReadBlockMiB { get; set; } = 8;

    /// <summary>
    /// The local copies ffmpeg reads (it never reads the bucket): at most this many MiB, least recently used removed
    /// first. A copy in use is never removed.
    /// </summary>
    public long InputCacheMiB { get; set; } = 2048;

    /// <summary>
    /// How long a look at an object (a HEAD) or the opening of a ranged GET, its retries included, may wait for an
    /// answer before it fails as the store being unavailable (503 for a request): a store that hangs (accepts but does
    /// not answer) ties up a request for at most this long. Uploads (imports, transcode and prepare outputs) keep the
    /// SDK's own timeout of 30 s per attempt, since a large part may take that long.
    /// </summary>
    public int TimeoutSeconds { get; set; } = 15;

    /// <summary>
    /// For a trusted network only (off by default): a single-file download of a stored file (not converted) is
    /// answered, once its token is redeemed and the redemption audited, with a redirect (302) to a presigned URL of
    /// the object valid for <see cref="RedirectSeconds"/>. The bytes then bypass CallMedia: the audit cannot count
    /// them or tell whether the transfer completed, and the URL works for whoever holds it until it expires.
    /// </summary>
    public bool RedirectDownloads { get; set; }

    /// <summary>How long a presigned URL of <see cref="RedirectDownloads"/> is valid.</summary>
    public int RedirectSeconds { get; set; } = 60;

    /// <summary>The folder of those copies; by default <c>callmedia-s3-inputs</c> in the temp folder. Each process keeps its copies in a subfolder of its own.</summary>
    public string? InputCacheDir { get; set; }
}
