using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Delivery;
using CallMedia.Import;
using CallMedia.Media;
using CallMedia.Storage;
using CallMedia.Tokens;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CallMedia.Hosting;

/// <summary>The services every entry point shares: the server and each CLI command.</summary>
public static class CallMediaServices
{
    /// <summary>Configuration key of the data folder (<c>--data</c>, env <c>CALLMEDIA_DATA</c>).</summary>
    public const string DataKey = "CallMedia:Data";

    public static string DataFolder(IConfiguration configuration) =>
        Path.GetFullPath(configuration[DataKey] ?? Environment.GetEnvironmentVariable("CALLMEDIA_DATA") ?? "data");

    public static IServiceCollection AddCallMedia(this IServiceCollection services, IConfiguration configuration)
    {
        var dataDir = DataFolder(configuration);
        Directory.CreateDirectory(dataDir);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(_ => OpenDatabase(configuration, dataDir));
        services.AddSingleton(sp => new MediaRoot(Path.Combine(dataDir, "media"), sp.GetRequiredService<IOptions<ImportSettings>>().Value.AllowedRoots));

        services.AddOptions<SessionSettings>().Bind(configuration.GetSection(SessionSettings.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<TokenOptions>().Bind(configuration.GetSection(TokenOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LoginSettings>().Bind(configuration.GetSection(LoginSettings.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ImportSettings>().Bind(configuration.GetSection(ImportSettings.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MediaOptions>().Bind(configuration.GetSection(MediaOptions.Section)).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton<UserStore>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<CallStore>();
        services.AddSingleton<CoupleAccess>();
        services.AddSingleton<CallSearch>();
        services.AddSingleton<Ffmpeg>();
        services.AddSingleton<MediaProbe>();
        services.AddSingleton<TranscodeCache>();
        services.AddSingleton<VideoMixer>();
        services.AddSingleton<PrepareJobs>();
        services.AddSingleton<PrepareRunner>();
        services.AddSingleton<ManifestImporter>();
        services.AddSingleton<DemoData>();
        services.AddSingleton<DeliveryPlanner>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditChain>();
        services.AddSingleton<RoleStore>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditLog>());
        return services;
    }

    private static Database OpenDatabase(IConfiguration configuration, string dataDir)
    {
        var connectionString = configuration.GetConnectionString("CallMedia");
        return string.IsNullOrWhiteSpace(connectionString) ? Database.ForDataFolder(dataDir) : Database.FromConnectionString(connectionString);
    }
}
