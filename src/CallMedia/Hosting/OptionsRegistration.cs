namespace CallMedia.Hosting;

public static class OptionsRegistration
{
    /// <summary>Binds a configuration section to <typeparamref name="T"/>, validated by its data annotations when the host starts.</summary>
    public static IServiceCollection AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string section)
        where T : class
    {
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateDataAnnotations().ValidateOnStart();
        return services;
    }
}
