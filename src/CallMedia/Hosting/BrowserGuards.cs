namespace CallMedia.Hosting;

/// <summary>
/// What browsers need to be told: every response carries <c>X-Content-Type-Options: nosniff</c>, HTML may not be
/// framed (<c>Content-Security-Policy: frame-ancestors 'none'</c>, <c>X-Frame-Options: DENY</c>), and a state-changing
/// request (sign-in, token issue, a prepare job's poll, logout, any POST, PUT, PATCH or DELETE) that the browser marks as coming from another site
/// (<c>Sec-Fetch-Site: cross-site</c>, or an <c>Origin</c> that is neither this server nor one of
/// <c>Hosting:AllowedOrigins</c>) is refused with 403. Players and scripts send neither header and are unaffected.
/// </summary>
public static class BrowserGuards
{
    /// <summary>GETs that change state: sign-in, token issue, sign-out, and a prepare job's poll (a finished job's answer issues a stream token).</summary>
    private static readonly string[] StateChangingPaths = ["/callrec/loginservlet", "/callrec/downloadtoken", "/callrec/logout", "/callrec/jobs"];

    public sealed class Settings
    {
        /// <summary>Origins (<c>https://portal.example.com</c>) besides this server's own whose pages may sign in and ask for tokens.</summary>
        public IReadOnlyList<string> AllowedOrigins { get; set; } = [];
    }

    public static IServiceCollection AddBrowserGuards(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Settings>().Bind(configuration.GetSection("Hosting"));
        return services;
    }

    public static IApplicationBuilder UseBrowserGuards(this IApplicationBuilder app)
    {
        var allowed = app.ApplicationServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Settings>>().Value.AllowedOrigins
            .Select(o => o.TrimEnd('/'))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        // Not async: a request let through runs on in the next layer's task, with no state machine of this layer's own.
        return app.Use((context, next) =>
        {
            var response = context.Response;
            response.Headers.XContentTypeOptions = "nosniff";
            response.OnStarting(RefuseFraming, response);
            return IsStateChanging(context.Request) && IsCrossSite(context.Request, allowed) ? RefuseAsync(context) : next(context);
        });
    }

    /// <summary>An HTML page may not be framed by another site; a page that sends its own policy (the web app's) keeps it.</summary>
    private static Task RefuseFraming(object state)
    {
        var response = (HttpResponse)state;
        if (response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true)
        {
            var policy = response.Headers.ContentSecurityPolicy.ToString();
            if (!policy.Contains("frame-ancestors", StringComparison.Ordinal))
            {
                response.Headers.ContentSecurityPolicy = policy.Length == 0 ? "frame-ancestors 'none'" : policy + "; frame-ancestors 'none'";
            }

            response.Headers.XFrameOptions = "DENY";
        }

        return Task.CompletedTask;
    }

    /// <summary>A state-changing request from another site, refused, each API in its own language: problem details for the JSON API, the XML framing elsewhere.</summary>
    private static Task RefuseAsync(HttpContext context)
    {
        var refusal = context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
            ? Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: "Requests from another site are refused.")
            : CallRecResults.Error(StatusCodes.Status403Forbidden, ErrorNumbers.CrossSite, "Requests from another site are refused.");
        return refusal.ExecuteAsync(context);
    }

    private static bool IsStateChanging(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) || HttpMethods.IsDelete(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsPatch(request.Method)
        || StateChangingPaths.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// An origin named in <c>Hosting:AllowedOrigins</c> is welcome (its browser marks it cross-site, rightly); otherwise
    /// either sign of another site refuses: <c>Sec-Fetch-Site: cross-site</c>, or an <c>Origin</c> not this server's.
    /// </summary>
    private static bool IsCrossSite(HttpRequest request, HashSet<string> allowed)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && allowed.Contains(origin))
        {
            return false;
        }

        if (string.Equals(request.Headers["Sec-Fetch-Site"].ToString(), "cross-site", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return origin.Length > 0 && !string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase);
    }
}
