using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace CallMedia.Api;

/// <summary>
/// The API reference page (<c>/api/docs/</c>) under a strict Content-Security-Policy, like the web app's: scripts from
/// this server only, plus the page's own inline start-up script, allowed by its hash. The hash is taken from the page
/// as it is served, so the reference's next template keeps working and nothing else inline ever runs. Its styles are
/// set from script (inline styles allowed); it connects to this server only (the OpenAPI document), and is never framed.
/// </summary>
public static partial class ApiDocsPolicy
{
    /// <summary>The page itself; its scripts and styles are files under the same folder, served with the usual headers.</summary>
    private static bool IsPage(PathString path) =>
        path.Equals("/api/docs/", StringComparison.OrdinalIgnoreCase) || path.Equals("/api/docs/index.html", StringComparison.OrdinalIgnoreCase);

    /// <summary>Pages larger than this are passed through unchanged (the reference's is under 1 kB).</summary>
    private const int MaxPage = 64 * 1024;

    [GeneratedRegex("<script(?:\\s[^>]*)?>(.*?)</script>", RegexOptions.Singleline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Script();

    public static IApplicationBuilder UseApiDocsPolicy(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (!IsPage(context.Request.Path))
        {
            await next(context);
            return;
        }

        var original = context.Response.Body;
        using var page = new MemoryStream();
        context.Response.Body = page;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        if (context.Response.StatusCode == StatusCodes.Status200OK && page.Length <= MaxPage
            && context.Response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true)
        {
            context.Response.Headers.ContentSecurityPolicy = Policy(Encoding.UTF8.GetString(page.GetBuffer(), 0, (int)page.Length));
        }

        page.Position = 0;
        await page.CopyToAsync(original, context.RequestAborted);
    });

    /// <summary>The policy for <paramref name="html"/>: its inline scripts (those with a body) allowed by their SHA-256.</summary>
    public static string Policy(string html)
    {
        var hashes = Script().Matches(html)
            .Select(m => m.Groups[1].Value)
            .Where(body => body.Length > 0)
            .Select(body => $" 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(body)))}'")
            .Distinct();
        return $"default-src 'none'; script-src 'self'{string.Concat(hashes)}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
            "font-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";
    }
}
