using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Delivery;
using CallMedia.Hosting;
using CallMedia.Import;
using CallMedia.Media;
using CallMedia.Retention;
using CallMedia.Storage;
using CallMedia.Tokens;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CallMedia.App;

/// <summary>The services every entry point shares: the server and each CLI command.</summary>
public static class CallMediaServices
{
    /// <summary>Configuration key of the data folder (<c>--data</c>, env <c>CALLMEDIA_DATA</c>).</summary>
    public const string DataKey = "CallMedia:Data";

    public static string DataFolder(IConfiguration configuration)
    {
        var folder = configuration[DataKey] ?? Environment.GetEnvironmentVariable("CALLMEDIA_DATA") ?? "data";
        return string.IsNullOrWhiteSpace(folder)
            ? throw new InvalidOperationException("the data folder is empty: pass --data DIR or set CALLMEDIA_DATA to a folder")
            : Path.GetFullPath(folder);
    }

    public static IServiceCollection AddCallMedia(this IServiceCollection services, IConfiguration configuration)
    {
        var dataDir = DataFolder(configuration);
        Directory.CreateDirectory(dataDir);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(_ => OpenDatabase(configuration, dataDir));
        services.AddSingleton(sp => new MediaRoot(Path.Combine(dataDir, "media"), sp.GetRequiredService<IOptions<ImportOptions>>().Value.AllowedRoots));

        services.AddMediaStorage(configuration);
        services.AddMetrics();
        services.TryAddSingleton<CallMediaMetrics>();
        services.AddAuth(configuration);
        services.AddTokens(configuration);
        services.AddCalls();
        services.AddMedia(configuration);
        services.AddDelivery();
        services.AddAudit(configuration);
        services.AddImport(configuration);
        services.AddRetention(configuration);
        return services;
    }

    private static Database OpenDatabase(IConfiguration configuration, string dataDir)
    {
        var connectionString = configuration.GetConnectionString("CallMedia");
        return string.IsNullOrWhiteSpace(connectionString) ? Database.ForDataFolder(dataDir) : Database.FromConnectionString(connectionString);
    }
}
