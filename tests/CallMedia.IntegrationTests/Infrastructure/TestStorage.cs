using Amazon.S3;
using Amazon.S3.Model;
using CallMedia.Storage;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// Where test servers keep media: the data folder's media folder by default; a fresh bucket of the Ceph RADOS
/// Gateway that scripts/s3.sh starts when CALLMEDIA_TEST_STORAGE=s3 (scripts/test.sh runs the delivery, zip, media,
/// import and multi-node tests that way, on PostgreSQL). The demo media is moved into the bucket (the local copies
/// deleted, so every read really goes to the store) and the settings travel with the database arguments, so a CLI
/// or a second node over the same data uses the same bucket.
/// </summary>
public static class TestStorage
{
    public static bool IsS3 => Environment.GetEnvironmentVariable("CALLMEDIA_TEST_STORAGE") == "s3";

    /// <summary>The store's settings, without the bucket.</summary>
    public static S3StorageOptions S3Options() => new()
    {
        ServiceUrl = Environment.GetEnvironmentVariable("CALLMEDIA_TEST_S3_ENDPOINT") ?? throw new InvalidOperationException("CALLMEDIA_TEST_S3_ENDPOINT is not set (eval \"$(bash scripts/s3.sh start)\")"),
        AccessKey = Environment.GetEnvironmentVariable("CALLMEDIA_TEST_S3_ACCESS_KEY"),
        SecretKey = Environment.GetEnvironmentVariable("CALLMEDIA_TEST_S3_SECRET_KEY"),
        Bucket = "unused",
    };

    /// <summary>Configuration arguments for a new bucket (created now), or none for the local folder.</summary>
    public static async Task<string[]> NewAsync(string dataDir)
    {
        if (!IsS3)
        {
            return [];
        }

        var options = S3Options();
        options.Bucket = "cm-" + Guid.NewGuid().ToString("N");
        using var bucket = new MediaBucket(options);
        await bucket.Client.PutBucketAsync(new PutBucketRequest { BucketName = options.Bucket });
        var media = Path.Combine(dataDir, "media");
        if (Directory.Exists(media))
        {
            foreach (var file in Directory.EnumerateFiles(media, "*", SearchOption.AllDirectories))
            {
                var key = Path.GetRelativePath(media, file).Replace(Path.DirectorySeparatorChar, '/');
                if (key.StartsWith(".tmp/", StringComparison.Ordinal) || key.StartsWith('.') && !key.StartsWith(".cache/", StringComparison.Ordinal))
                {
                    continue;
                }

                await bucket.Client.PutObjectAsync(new PutObjectRequest { BucketName = options.Bucket, Key = key, FilePath = file });
                File.Delete(file);
            }
        }

        return
        [
            "--Storage:Kind=s3", $"--Storage:S3:ServiceUrl={options.ServiceUrl}", $"--Storage:S3:Bucket={options.Bucket}",
            $"--Storage:S3:AccessKey={options.AccessKey}", $"--Storage:S3:SecretKey={options.SecretKey}",
        ];
    }

    /// <summary>The stored media of a data folder (and its arguments), as keys relative to the media folder (<c>/</c>-separated), in the bucket or the folder.</summary>
    public static async Task<List<string>> ListAsync(string dataDir, string[] args, string prefix = "")
    {
        if (!args.Any(a => a.StartsWith("--Storage:S3:Bucket=", StringComparison.Ordinal)))
        {
            var media = Path.Combine(dataDir, "media");
            return Directory.EnumerateFiles(media, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(media, f).Replace(Path.DirectorySeparatorChar, '/'))
                .Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        }

        using var bucket = Open(args);
        var keys = new List<string>();
        ListObjectsV2Response list;
        string? next = null;
        do
        {
            list = await bucket.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket.Name, Prefix = prefix, ContinuationToken = next });
            keys.AddRange((list.S3Objects ?? []).Select(o => o.Key));
            next = list.NextContinuationToken;
        }
        while (list.IsTruncated == true);
        return keys;
    }

    /// <summary>The bytes of a stored object by its key (see <see cref="ListAsync"/>).</summary>
    public static async Task<byte[]> ReadAsync(string dataDir, string[] args, string key)
    {
        if (!args.Any(a => a.StartsWith("--Storage:S3:Bucket=", StringComparison.Ordinal)))
        {
            return await File.ReadAllBytesAsync(Path.Combine(dataDir, "media", key));
        }

        using var bucket = Open(args);
        using var response = await bucket.Client.GetObjectAsync(bucket.Name, key);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>The bytes of the object a media row points at, read through the server's own storage.</summary>
    public static async Task<byte[]> ReadStoredAsync(IServiceProvider services, string storedPath)
    {
        await using var source = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IMediaStorage>(services).OpenRead(storedPath);
        using var copy = new MemoryStream();
        await source.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>A client for the bucket that configuration arguments name (to look at or change objects directly).</summary>
    public static MediaBucket Open(string[] args)
    {
        var options = S3Options();
        options.Bucket = args.First(a => a.StartsWith("--Storage:S3:Bucket=", StringComparison.Ordinal))["--Storage:S3:Bucket=".Length..];
        return new MediaBucket(options);
    }

    /// <summary>Empties and removes the bucket that configuration arguments name, if any.</summary>
    public static async Task DropAsync(string[] args)
    {
        if (!args.Any(a => a.StartsWith("--Storage:S3:Bucket=", StringComparison.Ordinal)))
        {
            return;
        }

        try
        {
            using var bucket = Open(args);
            ListObjectsV2Response list;
            do
            {
                list = await bucket.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket.Name });
                foreach (var o in list.S3Objects ?? [])
                {
                    await bucket.Client.DeleteObjectAsync(bucket.Name, o.Key);
                }
            }
            while (list.IsTruncated == true);
            await bucket.Client.DeleteBucketAsync(bucket.Name);
        }
        catch (AmazonS3Exception)
        {
            // Left to the throwaway store, which is deleted at the end of the run.
        }
    }
}
