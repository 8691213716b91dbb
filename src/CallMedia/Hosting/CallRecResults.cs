using System.Security;
using System.Text;

namespace CallMedia.Hosting;

/// <summary>Error numbers of the XML framing; documented in docs/api-notes.md.</summary>
public static class ErrorNumbers
{
    public const int AccessDenied = 2;
    public const int BadRequest = 3;
    public const int Forbidden = 4;
    public const int NotFound = 5;
    public const int Unmixed = 6;
    public const int MethodNotAllowed = 7;
    public const int Busy = 8;
    public const int SessionRequired = 10;
    public const int TooMany = 11;
    public const int PrepareFailed = 12;
    public const int DatabaseUnavailable = 13;
    public const int SignInThrottled = 14;
    public const int CrossSite = 15;
    public const int RateLimited = 16;
    public const int Purged = 17;
}

/// <summary>
/// The one writer of the CallREC framing: an XML declaration line, then one element. Existing clients cut these
/// bodies at fixed offsets, so every byte here is part of the contract (API.md §1–§3).
/// </summary>
public static class CallRecResults
{
    public const string XmlContentType = "text/xml;charset=UTF-8";

    internal const string Declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n";

    public static CallRecXml LoginOk(string sessionId) =>
        Xml(StatusCodes.Status200OK, $"<ok sessionid=\"{sessionId}\" number=\"1\">Access is authorized.</ok>");

    public static CallRecXml LoginDenied() =>
        Xml(StatusCodes.Status200OK, $"<error number=\"{ErrorNumbers.AccessDenied}\">Access denied.</error>");

    public static CallRecXml Reply(string token) => Xml(StatusCodes.Status200OK, $"<reply>{token}</reply>\n");

    public static CallRecXml Job(int status, long id, string state, int progress, string? token) =>
        Xml(status, $"<job id=\"{id}\" state=\"{state}\" progress=\"{progress}\"/>\n" + (token is null ? "" : $"<reply>{token}</reply>\n"));

    /// <summary>An error in the caller's language: HTML for a browser that asks for it, otherwise the XML framing.</summary>
    public static CallRecError Error(int status, int number, string message) => new(status, number, message);

    /// <summary>The answer to a request without a live session (API.md §4): 302 to the sign-in page.</summary>
    public static SignInRedirect SignInRedirect(HttpContext context)
    {
        // The original path only: the query may hold a token, and nothing echoes a token back. Only a path the sign-in
        // page would come back to (SignInPage.IsLocalPath, at most 2,048 characters): a request's path of 80,000
        // characters is not echoed three times over into a header.
        var back = (context.Request.PathBase + context.Request.Path).ToString();
        var target = SignInPage.IsLocalPath(back) ? "/callrec/?return=" + Uri.EscapeDataString(back) : "/callrec/";
        return new SignInRedirect(new CallRecError(StatusCodes.Status302Found, ErrorNumbers.SessionRequired, "Session missing or expired; sign in again.", target));
    }

    private static CallRecXml Xml(int status, string element) => new(status, Declaration + element);

    internal static Task WriteAsync(HttpResponse response, string contentType, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        response.ContentType = contentType;
        response.ContentLength = bytes.Length;
        return response.Body.WriteAsync(bytes).AsTask();
    }
}

/// <summary>A 2xx answer of the XML framing: <c>&lt;ok&gt;</c>, <c>&lt;reply&gt;</c>, <c>&lt;job&gt;</c> or the login's <c>&lt;error&gt;</c>.</summary>
public sealed class CallRecXml(int status, string body) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => status;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = status;
        httpContext.Response.Headers.CacheControl = "no-store";
        return CallRecResults.WriteAsync(httpContext.Response, CallRecResults.XmlContentType, body);
    }
}

/// <summary>An error of the framing (<c>&lt;error number=".."&gt;</c>), or HTML for a browser that asks for it.</summary>
public sealed class CallRecError(int status, int number, string message, string? location = null) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => status;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        if (location is not null)
        {
            response.Headers.Location = location;
        }

        var text = SecurityElement.Escape(message);
        var accept = httpContext.Request.Headers.Accept.ToString();
        if (accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            return CallRecResults.WriteAsync(response, "text/html;charset=UTF-8", $"<!DOCTYPE html>\n<html><head><title>CallMedia</title></head><body><p>{text}</p></body></html>\n");
        }

        return CallRecResults.WriteAsync(response, CallRecResults.XmlContentType, $"{CallRecResults.Declaration}<error number=\"{number}\">{text}</error>");
    }
}

/// <summary>302 to the sign-in page, the one answer to a request without a live session.</summary>
public sealed class SignInRedirect(CallRecError inner) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => inner.StatusCode;

    public Task ExecuteAsync(HttpContext httpContext) => inner.ExecuteAsync(httpContext);
}
