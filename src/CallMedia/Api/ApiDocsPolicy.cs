namespace CallMedia.Api;

/// <summary>
/// The API reference pages (<c>/api/docs/…</c>, every document's) under a strict Content-Security-Policy, like the web
/// app's: scripts from this server only, plus the page's inline start-up script, which carries a fresh random nonce on
/// every request (<c>WithNonce()</c> in <see cref="ApiRegistration"/>). A page without one runs no inline script at all.
/// Its styles are set from script (inline styles allowed); it connects to this server only (the OpenAPI document), and
/// is never framed.
/// </summary>
public static class ApiDocsPolicy
{
    public static IApplicationBuilder UseApiDocsPolicy(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.Request.Path.StartsWithSegments("/api/docs", StringComparison.OrdinalIgnoreCase))
        {
            var response = context.Response;
            response.OnStarting(() =>
            {
                if (response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true)
                {
                    response.Headers.ContentSecurityPolicy = Policy(context.Items[Scalar.AspNetCore.ScalarOptions.NonceHttpContextItemKey] as string);
                }

                return Task.CompletedTask;
            });
        }

        return next(context);
    });

    /// <summary>The policy of a page whose inline scripts carry <paramref name="nonce"/> (none: no inline script runs).</summary>
    public static string Policy(string? nonce) =>
        $"default-src 'none'; script-src 'self'{(string.IsNullOrEmpty(nonce) ? "" : $" 'nonce-{nonce}'")}; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";
}
