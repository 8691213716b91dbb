using System.Net;
using System.Text.Json;
using CallMedia.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CallMedia.Operations;

/// <summary>Who may read <c>/readyz</c> and <c>/metrics</c> without signing in.</summary>
public sealed class OperationsOptions
{
    public const string Section = "Operations";

    /// <summary>
    /// Addresses (<c>10.0.0.5</c>) and networks (<c>10.0.0.0/8</c>) besides loopback that may read <c>/readyz</c> and
    /// <c>/metrics</c>. Anyone else gets 404, as if they did not exist. The client address is the one Kestrel saw, or
    /// the forwarded one from a proxy listed in <c>Hosting:KnownProxies</c>.
    /// </summary>
    public IReadOnlyList<string> OpenTo { get; set; } = [];

    internal IReadOnlyList<IPNetwork> Networks() => OpenTo.Select(n => n.Contains('/', StringComparison.Ordinal)
        ? IPNetwork.Parse(n)
        : new IPNetwork(IPAddress.Parse(n), IPAddress.Parse(n).AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)).ToList();
}

/// <summary>
/// Health, readiness and metrics: <c>/healthz</c> (the process answers; "ok" to anyone), <c>/readyz</c> (database,
/// media folder, ffmpeg and ffprobe) and <c>/metrics</c> (Prometheus text: HTTP requests per endpoint and status,
/// and <see cref="CallMediaMetrics"/>). Also lets <c>Logging:Console:FormatterName=json</c> choose JSON log lines.
/// </summary>
public static class OperationsRegistration
{
    private const string Ready = "ready";

    private static readonly object MeterAdapterGate = new();
    private static bool _meterAdapterSuppressed;

    public static IServiceCollection AddOperations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OperationsOptions>().Bind(configuration.GetSection(OperationsOptions.Section))
            .Validate(o => Valid(o), $"{OperationsOptions.Section}:OpenTo holds an entry that is neither an IP address nor a network (10.0.0.0/8)")
            .ValidateOnStart();
        services.AddMetrics();
        services.AddHealthChecks()
            .AddCheck<DatabaseReadiness>("database", tags: [Ready])
            .AddCheck<MediaFolderReadiness>("media", tags: [Ready])
            .AddCheck<FfmpegReadiness>("ffmpeg", tags: [Ready]);

        // The server's console logger names its formatter in code, which would win over configuration: let an
        // explicit Logging:Console:FormatterName (json, systemd) choose, with UTC timestamps like the default lines.
        services.PostConfigure<ConsoleLoggerOptions>(o =>
        {
            if (configuration["Logging:Console:FormatterName"] is { Length: > 0 } formatter)
            {
                o.FormatterName = formatter;
            }
        });
        services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });

        lock (MeterAdapterGate)
        {
            // No adapter for .NET meters: HTTP metrics come from the middleware below, not from ASP.NET Core's meters
            // too, and CallMedia's own are prometheus-net counters (CallMediaMetrics). prometheus-net's adapter would
            // start only at the first scrape, losing what was counted before it, and cost each count a lease.
            if (!_meterAdapterSuppressed)
            {
                Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressMeters = true });
                _meterAdapterSuppressed = true;
            }
        }

        return services;
    }

    public static WebApplication MapOperations(this WebApplication app)
    {
        // Created now, so its instruments are published to the exporter before the first measurement.
        app.Services.GetRequiredService<CallMediaMetrics>();
        // One layer, the duration histogram (its _count is the request count): the in-progress gauge and the separate
        // counter were two more layers on every request, the delivery path's included.
        app.UseHttpMetrics(o =>
        {
            o.InProgress.Enabled = false;
            o.RequestCount.Enabled = false;
        });
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", ReadinessAsync);
        app.MapGet("/metrics", WriteMetricsAsync);
        return app;
    }

    private static bool Valid(OperationsOptions options)
    {
        try
        {
            _ = options.Networks();
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Whether the caller may read readiness and metrics: loopback, or an address in Operations:OpenTo.</summary>
    internal static bool IsOpenTo(HttpContext context)
    {
        if (context.Connection.RemoteIpAddress is not { } address)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var options = context.RequestServices.GetRequiredService<IOptions<OperationsOptions>>().Value;
        return IPAddress.IsLoopback(address) || options.Networks().Any(n => n.Contains(address));
    }

    /// <summary>200 when every readiness check passes, else 503; one line of JSON with each check and, when failing, why.</summary>
    private static async Task<IResult> ReadinessAsync(HttpContext context, HealthCheckService health)
    {
        if (!IsOpenTo(context))
        {
            return Results.NotFound();
        }

        var report = await health.CheckHealthAsync(c => c.Tags.Contains(Ready), context.RequestAborted);
        return Results.Json(
            new
            {
                status = report.Status.ToString(),
                checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
            },
            statusCode: report.Status == HealthStatus.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task WriteMetricsAsync(HttpContext context)
    {
        if (!IsOpenTo(context))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    }
}
