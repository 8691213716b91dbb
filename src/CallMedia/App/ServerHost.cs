using System.Net;
using CallMedia.Api;
using CallMedia.Auth;
using CallMedia.Data;
using CallMedia.Delivery;
using CallMedia.Hosting;
using CallMedia.Import;
using CallMedia.Media;
using CallMedia.Operations;
using CallMedia.Retention;
using CallMedia.Tokens;
using CallMedia.Web;
using Dapper;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.HttpOverrides;

namespace CallMedia.App;

/// <summary>Builds and prepares the web host of <c>callmedia serve</c> (tests build the very same host).</summary>
public static class ServerHost
{
    public const string DemoUser = "demo";
    public const string LoopbackDemoPassword = "demo";

    public static WebApplication Build(string[] configArgs, Action<WebApplicationBuilder>? customize = null)
    {
        // The content root is the application's folder, not the working directory: configuration files are watched
        // for changes recursively under it, and the data folder (often ./data) must not be in that watch.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = configArgs, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });

        // These framework categories log request lines, which carry ;jsessionid= and ?token=. CallMedia logs each
        // request itself (RequestLog), without secrets; see docs/security.md before lowering these levels.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Http.Result", LogLevel.Warning);
        // The typed results' own lines ("Setting HTTP status code 400", one per problem answer of the JSON API).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Http.HttpResults", LogLevel.Warning);
        // The API description asks MVC for controllers, which this service has none of by design ("No action descriptors found").
        builder.Logging.AddFilter("Microsoft.AspNetCore.Mvc.Infrastructure.DefaultActionDescriptorCollectionProvider", LogLevel.Warning);
        // A start that fails (a port in use, a malformed address) is said in one line by the command; the host's own
        // error is the same with a stack trace. Its critical lines (a background service that stopped the server) stay.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = CallRecParameters.MaxFormBytes;
            // Room for 10,000 comma-separated ids in a GET query.
            k.Limits.MaxRequestLineSize = 256 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 288 * 1024;
            // Room for two send segments in the response pipe (the default is 64 KiB): the next segment of a large body
            // is read (and decrypted) while the transport sends the last one, instead of after it.
            k.Limits.MaxResponseBufferSize = AuditedTransfer.ResponseBuffer;
        });
        builder.Services.Configure<FormOptions>(o =>
        {
            o.ValueCountLimit = 20_000;
            o.ValueLengthLimit = (int)CallRecParameters.MaxFormBytes;
        });
        builder.Services.AddCallMedia(builder.Configuration);
        builder.Services.AddPrepareWorker();
        builder.Services.AddRetentionSchedule();
        builder.Services.AddApi(builder.Configuration);
        builder.Services.AddDemoAccount();
        builder.Services.AddBrowserGuards(builder.Configuration);
        builder.Services.AddSecretRedaction();
        builder.Services.AddAnonymousRateLimit(builder.Configuration);
        builder.Services.AddExpiredRowPurge();
        builder.Services.AddOperations(builder.Configuration);
        builder.Services.AddWeb();
        customize?.Invoke(builder);

        var proxies = builder.Configuration.GetSection("Hosting:KnownProxies").Get<string[]>() ?? [];
        if (proxies.Length > 0)
        {
            // Only the proxies named in configuration may set the client address and scheme (and so the cookie's Secure flag).
            builder.Services.Configure<ForwardedHeadersOptions>(o =>
            {
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
                o.KnownProxies.Clear();
                o.KnownIPNetworks.Clear();
                foreach (var proxy in proxies)
                {
                    o.KnownProxies.Add(IPAddress.Parse(proxy));
                }
            });
        }

        var app = builder.Build();
        if (proxies.Length > 0)
        {
            app.UseForwardedHeaders();
        }

        app.UseBrowserGuards();
        app.UseSessionIdPathParameter();
        app.UseAnonymousRateLimit();
        app.UseRequestLog();
        app.UseCallRecErrors();
        app.UseMediaStoreErrors();
        app.UseApiDocsPolicy();
        app.UseSendCallFileRoute();
        app.UseRouting();
        app.UseCallRecStatusPages();
        var callrec = app.MapGroup("/callrec");
        callrec.MapLoginEndpoints();
        callrec.MapTokenEndpoints();
        callrec.MapSendCallFileEndpoints();
        callrec.MapPrepareEndpoints();
        callrec.MapGet("/", SignInPage.Render);
        app.MapApi();
        app.MapWeb();
        app.MapOperations();
        return app;
    }

    /// <summary>Migrates the database and, on an empty one, creates the demo recordings and user. Returns the demo sign-in to print, if any.</summary>
    public static async Task<string?> PrepareAsync(WebApplication app, bool demo, CancellationToken ct = default)
    {
        var services = app.Services;
        var db = services.GetRequiredService<Database>();
        await Migrations.ApplyAsync(db, services.GetRequiredService<TimeProvider>(), ct);
        if (!demo)
        {
            return null;
        }

        var loopbackOnly = BindsLoopbackOnly(app.Urls.Count > 0 ? app.Urls : (app.Configuration["urls"] ?? "").Split(';'));
        await using (var connection = await db.OpenAsync(ct))
        {
            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM couples") == 0)
            {
                await services.GetRequiredService<DemoData>().SeedAsync(ct);
            }
        }

        var users = services.GetRequiredService<UserStore>();
        var existing = await users.FindForLoginAsync(DemoUser, ct);
        if (existing is null)
        {
            if ((await users.ListAsync(ct)).Count > 0)
            {
                return null;
            }

            var password = loopbackOnly ? LoopbackDemoPassword : Secrets.NewPassword();
            await users.AddAsync(DemoUser, password, ["supervisor"], null, ct);
            return $"loginname={DemoUser} password={password}";
        }

        // The fixed demo password is for loopback only: reachable from elsewhere, the demo user gets a random one.
        if (!loopbackOnly && PasswordHashing.Verify(existing.Value.PasswordHash, LoopbackDemoPassword))
        {
            var password = Secrets.NewPassword();
            await users.SetPasswordAsync(DemoUser, password, ct);
            return $"loginname={DemoUser} password={password} (the loopback-only default was replaced)";
        }

        return loopbackOnly && PasswordHashing.Verify(existing.Value.PasswordHash, LoopbackDemoPassword)
            ? $"loginname={DemoUser} password={LoopbackDemoPassword}"
            : null;
    }

    public static bool BindsLoopbackOnly(IEnumerable<string> urls) => DemoAccount.BindsLoopbackOnly(urls);
}
