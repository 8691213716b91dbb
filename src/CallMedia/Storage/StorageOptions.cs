namespace CallMedia.Storage;

/// <summary>The <c>Storage</c> section: encryption at rest of the media folder and where its master keys come from.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The environment variable that may hold the master keys instead of a key file.</summary>
    public const string KeyVariable = "CALLMEDIA_MASTER_KEY";

    /// <summary><c>on</c>: new imports, prepared videos and transcodes are written encrypted. <c>off</c> (the default): plain.</summary>
    public string Encryption { get; set; } = "off";

    /// <summary>
    /// A file of master keys, one base64 key of 32 bytes a line, the first one current. It must lie outside the data
    /// folder and be readable by its owner only. Without it, <see cref="KeyVariable"/> is read.
    /// </summary>
    public string? KeyFile { get; set; }

    /// <summary><c>local</c> (the default): the media folder. <c>s3</c>: an S3-compatible bucket (<see cref="S3"/>).</summary>
    public string Kind { get; set; } = "local";

    /// <summary>The <c>Storage:S3</c> section, read when <see cref="Kind"/> is <c>s3</c> (and by <c>storage migrate --to s3</c>).</summary>
    public S3StorageOptions S3 { get; set; } = new();

    public bool IsS3 => string.Equals(Kind, "s3", StringComparison.OrdinalIgnoreCase);

    public bool EncryptionOn => string.Equals(Encryption, "on", StringComparison.OrdinalIgnoreCase);
}
