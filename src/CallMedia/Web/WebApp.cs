using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Hosting;
using CallMedia.Media;

namespace CallMedia.Web;

/// <summary>
/// The web app supervisors, quality analysts and auditors use: one HTML shell for every page, small ES modules,
/// all embedded in the executable and speaking only the JSON API (/api/v1). Plus the one API resource that exists
/// for it: a call's waveform peaks.
/// </summary>
public static class WebApp
{
    /// <summary>
    /// Pages run only the app's own scripts and styles: nothing inline, nothing from elsewhere, never in a frame.
    /// Media come from this origin too (the token URLs of /callrec/sendcallfile.*).
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    /// <summary>The paths the app's pages live at; each gets the same shell, and the script shows the right page.</summary>
    private static readonly string[] PagePaths = ["/", "/sign-in", "/calls/{id:long}", "/audit"];

    public static IServiceCollection AddWeb(this IServiceCollection services)
    {
        services.AddSingleton<WebAssets>();
        services.AddSingleton<WaveformPeaks>();
        return services;
    }

    public static IEndpointRouteBuilder MapWeb(this IEndpointRouteBuilder app)
    {
        foreach (var path in PagePaths)
        {
            app.MapGet(path, SendShellAsync);
        }

        app.MapGet("/assets/{*name}", SendAssetAsync);
        app.MapGet("/api/v1/calls/{id:long}/peaks", PeaksAsync);
        return app;
    }

    private static async Task SendShellAsync(HttpContext context, WebAssets assets)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        await WebAssets.SendAsync(context, assets.Find("index.html")!, "no-cache");
    }

    private static async Task SendAssetAsync(HttpContext context, string name, WebAssets assets)
    {
        // index.html is the shell and only goes out with its security headers, at the page paths.
        if (assets.Find(name) is not { } asset || name == "index.html")
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await WebAssets.SendAsync(context, asset, "no-cache");
    }

    /// <summary>GET /api/v1/calls/{id}/peaks: needs audio.stream; a call out of scope or missing is one 404.</summary>
    private static async Task<IResult> PeaksAsync(
        long id, HttpContext context, SessionService sessions, UserStore users, CoupleAccess access, CallStore calls, WaveformPeaks peaks)
    {
        var ct = context.RequestAborted;
        var session = await sessions.ResolveAsync(context.SessionCandidate(), ct);
        var user = session is null ? null : await users.LoadAccessAsync(session.UserId, ct);
        if (user is null || user.Disabled)
        {
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in required.", detail: "No valid session; sign in first.");
        }

        if (!user.Has(Rights.AudioStream))
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Access denied.", detail: "Listening to calls is not among your rights.");
        }

        var (verdict, _) = await access.CheckAsync(user, Rights.AudioStream, [id], ct);
        var sources = verdict == AccessVerdict.Allowed ? WaveformPeaks.Sources((await calls.GetFilesAsync([id], ct))[id]) : [];
        if (sources.Count == 0)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found.", detail: verdict == AccessVerdict.Allowed ? "The call has no sound." : "No such call.");
        }

        var etag = "\"" + WaveformPeaks.Key(sources) + "\"";
        context.Response.Headers.CacheControl = "private, no-cache";
        context.Response.Headers.Vary = "Accept-Encoding, Cookie";
        if (context.Request.Headers.IfNoneMatch.ToString().Split(',').Any(t => t.Trim() == etag))
        {
            context.Response.Headers.ETag = etag;
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        string path;
        try
        {
            path = await peaks.GetAsync(sources, ct);
        }
        catch (Exception ex) when (ex is FfmpegException or InvalidDataException or IOException)
        {
            return Results.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "No waveform.", detail: "The call's sound could not be decoded.");
        }

        context.Response.Headers.ETag = etag;
        if (WebAssets.Accepts(context.Request.Headers.AcceptEncoding.ToString(), "gzip"))
        {
            context.Response.Headers.ContentEncoding = "gzip";
            return Results.File(path, "application/json");
        }

        // The rare client without gzip gets the JSON unpacked on the fly.
        var file = File.OpenRead(path);
        return Results.Stream(new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress), "application/json");
    }
}
