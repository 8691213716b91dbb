using CallMedia.Hosting;

namespace CallMedia.Import;

public static class ImportRegistration
{
    /// <summary>The manifest importer and the demo generator.</summary>
    public static IServiceCollection AddImport(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<ImportOptions>(configuration, ImportOptions.Section);
        services.AddSingleton<ManifestImporter>();
        services.AddSingleton<DemoData>();
        return services;
    }
}
