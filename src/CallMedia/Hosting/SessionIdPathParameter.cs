using System.Text.RegularExpressions;

namespace CallMedia.Hosting;

/// <summary>
/// Takes <c>;jsessionid=...</c> (any case) off the request path before routing, so
/// <c>/callrec/sendcallfile.mp3;jsessionid=X</c> routes as <c>/callrec/sendcallfile.mp3</c>, and keeps the value
/// as the request's session candidate. Players fetch media without cookies, which is why this exists.
/// </summary>
public static partial class SessionIdPathParameter
{
    private const string ItemKey = "callmedia.path-session";

    [GeneratedRegex(";jsessionid=([^;/]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PathParameter();

    public static IApplicationBuilder UseSessionIdPathParameter(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var path = context.Request.Path.Value;
            if (path is not null && path.Contains(';', StringComparison.Ordinal))
            {
                var match = PathParameter().Match(path);
                if (match.Success)
                {
                    context.Items[ItemKey] = match.Groups[1].Value;
                    context.Request.Path = new PathString(path.Remove(match.Index, match.Length));
                }
            }

            return next(context);
        });

    /// <summary>The session id the request carries: the path parameter wins over the cookie.</summary>
    public static string? SessionCandidate(this HttpContext context) =>
        context.Items.TryGetValue(ItemKey, out var fromPath) && fromPath is string s
            ? s
            : context.Request.Cookies["JSESSIONID"];
}
