using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CallMedia.Storage;

/// <summary><c>Storage:Kind=s3</c>: the bucket, its storage, the local input cache for ffmpeg, and the store in <c>/readyz</c>.</summary>
public static class S3Registration
{
    /// <summary>The readiness tag <c>/readyz</c> runs (Operations).</summary>
    private const string ReadyTag = "ready";

    public static bool IsS3(IConfiguration configuration) =>
        string.Equals(configuration[$"{StorageOptions.Section}:{nameof(StorageOptions.Kind)}"], "s3", StringComparison.OrdinalIgnoreCase);

    public static IServiceCollection AddS3MediaStorage(this IServiceCollection services)
    {
        services.AddSingleton(sp => new MediaBucket(sp.GetRequiredService<IOptions<StorageOptions>>().Value.S3));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value.S3;
            return new S3InputCache(options.InputCacheDir ?? Path.Combine(Path.GetTempPath(), "callmedia-s3-inputs"), options.InputCacheMiB * 1024 * 1024);
        });
        services.AddSingleton<S3MediaStorage>();
        services.AddSingleton<IMediaStorage>(sp => sp.GetRequiredService<S3MediaStorage>());
        services.AddHealthChecks().AddCheck<ObjectStoreReadiness>("storage", tags: [ReadyTag]);
        return services;
    }

    /// <summary>
    /// Why an S3 configuration cannot start (naming the setting), or null: a setting missing, encryption at rest
    /// asked of CallMedia, or the store refusing the credentials or not having the bucket.
    /// </summary>
    public static string? Problem(StorageOptions options)
    {
        if (options.Kind is not ("local" or "s3"))
        {
            return $"Storage:Kind must be local or s3, not '{options.Kind}'";
        }

        if (!options.IsS3)
        {
            return null;
        }

        if (options.EncryptionOn)
        {
            return "Storage:Encryption=on works with the local media folder only; with Storage:Kind=s3 use the object store's server-side encryption (and set Storage:Encryption=off)";
        }

        if (string.IsNullOrWhiteSpace(options.S3.Bucket))
        {
            return "Storage:S3:Bucket is not set";
        }

        if (!string.IsNullOrWhiteSpace(options.S3.ServiceUrl) && !Uri.TryCreate(options.S3.ServiceUrl, UriKind.Absolute, out _))
        {
            return $"Storage:S3:ServiceUrl '{options.S3.ServiceUrl}' is not an absolute URL";
        }

        if (options.S3.PartSizeMiB is < 5 or > 2047)
        {
            return $"Storage:S3:PartSizeMiB must be between 5 and 2047, not {options.S3.PartSizeMiB}";
        }

        if (options.S3.ReadBlockMiB is < 1 or > 1024)
        {
            return $"Storage:S3:ReadBlockMiB must be between 1 and 1024, not {options.S3.ReadBlockMiB}";
        }

        if (options.S3.InputCacheMiB is < 1 or > 1L << 30)
        {
            return $"Storage:S3:InputCacheMiB must be between 1 and {1L << 30}, not {options.S3.InputCacheMiB}";
        }

        if (options.S3.TimeoutSeconds is < 1 or > 3600)
        {
            return $"Storage:S3:TimeoutSeconds must be between 1 and 3600, not {options.S3.TimeoutSeconds}";
        }

        if (options.S3.RedirectSeconds is < 1 or > 3600)
        {
            return $"Storage:S3:RedirectSeconds must be between 1 and 3600, not {options.S3.RedirectSeconds}";
        }

        using var bucket = new MediaBucket(options.S3);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return bucket.ProblemAsync(timeout.Token).GetAwaiter().GetResult();
    }

    private sealed class ObjectStoreReadiness(MediaBucket bucket) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            try
            {
                return await bucket.ProblemAsync(timeout.Token) is { } problem
                    ? HealthCheckResult.Unhealthy("object store: " + problem)
                    : HealthCheckResult.Healthy();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy("object store: no answer within 3 s");
            }
        }
    }
}
