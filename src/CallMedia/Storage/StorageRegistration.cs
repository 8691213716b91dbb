using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CallMedia.Storage;

public static class StorageRegistration
{
    /// <summary>
    /// The media storage and its options. The key check runs when the host starts (and when a command first needs
    /// storage): encryption on without a key, or encrypted files whose key is not configured, stop it with the reason.
    /// </summary>
    public static IServiceCollection AddMediaStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsCheck>();
        services.AddSingleton<LocalMediaStorage>();
        if (S3Registration.IsS3(configuration))
        {
            services.AddS3MediaStorage();
        }
        else
        {
            services.AddSingleton<IMediaStorage>(sp => sp.GetRequiredService<LocalMediaStorage>());
        }

        return services;
    }

    private sealed class StorageOptionsCheck(MediaRoot media) : IValidateOptions<StorageOptions>
    {
        public ValidateOptionsResult Validate(string? name, StorageOptions options)
        {
            if (options.Encryption is not ("on" or "off"))
            {
                return ValidateOptionsResult.Fail($"Storage:Encryption must be on or off, not '{options.Encryption}'");
            }

            if (S3Registration.Problem(options) is { } problem)
            {
                return ValidateOptionsResult.Fail("refusing to start: " + problem);
            }

            try
            {
                LocalMediaStorage.CheckKeys(media, options, MasterKeys.Load(options, media));
                return ValidateOptionsResult.Success;
            }
            catch (MediaKeyException ex)
            {
                return ValidateOptionsResult.Fail("refusing to start: " + ex.Message);
            }
        }
    }
}
