
namespace CallMedia.Web;

/// <summary>
/// The web app supervisors, quality analysts and auditors use: one HTML shell for every page, small ES modules,
/// all embedded in the executable and speaking only the JSON API (/api/v1).
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
        return services;
    }

    public static IEndpointRouteBuilder MapWeb(this IEndpointRouteBuilder app)
    {
        foreach (var path in PagePaths)
        {
            app.MapGet(path, SendShellAsync);
        }

        app.MapGet("/assets/{*name}", SendAssetAsync);
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
}
