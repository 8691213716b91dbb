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
}

/// <summary>
/// The one writer of the CallREC framing: an XML declaration line, then one element. Existing clients cut these
/// bodies at fixed offsets, so every byte here is part of the contract (API.md §1–§3).
/// </summary>
public static class CallRecResults
{
    public const string XmlContentType = "text/xml;charset=UTF-8";

    private const string Declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n";

    public static IResult LoginOk(string sessionId) =>
        Xml(StatusCodes.Status200OK, $"<ok sessionid=\"{sessionId}\" number=\"1\">Access is authorized.</ok>");

    public static IResult LoginDenied() =>
        Xml(StatusCodes.Status200OK, $"<error number=\"{ErrorNumbers.AccessDenied}\">Access denied.</error>");

    public static IResult Reply(string token) => Xml(StatusCodes.Status200OK, $"<reply>{token}</reply>\n");

    public static IResult Job(int status, long id, string state, int progress, string? token) =>
        Xml(status, $"<job id=\"{id}\" state=\"{state}\" progress=\"{progress}\"/>\n" + (token is null ? "" : $"<reply>{token}</reply>\n"));

    /// <summary>An error in the caller's language: HTML for a browser that asks for it, otherwise the XML framing.</summary>
    public static IResult Error(int status, int number, string message) => new ErrorResult(status, number, message);

    public static IResult SignInRedirect(HttpContext context)
    {
        // The original path only: the query may hold a token, and nothing echoes a token back.
        var target = "/callrec/?return=" + Uri.EscapeDataString(context.Request.PathBase + context.Request.Path);
        return new ErrorResult(StatusCodes.Status302Found, ErrorNumbers.SessionRequired, "Session missing or expired; sign in again.", target);
    }

    private static XmlResult Xml(int status, string element) => new XmlResult(status, Declaration + element);

    private static Task WriteAsync(HttpResponse response, string contentType, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        response.ContentType = contentType;
        response.ContentLength = bytes.Length;
        return response.Body.WriteAsync(bytes).AsTask();
    }

    private sealed class XmlResult(int status, string body) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            context.Response.Headers.CacheControl = "no-store";
            return WriteAsync(context.Response, XmlContentType, body);
        }
    }

    private sealed class ErrorResult(int status, int number, string message, string? location = null) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public Task ExecuteAsync(HttpContext context)
        {
            var response = context.Response;
            response.StatusCode = status;
            response.Headers.CacheControl = "no-store";
            if (location is not null)
            {
                response.Headers.Location = location;
            }

            var text = SecurityElement.Escape(message);
            var accept = context.Request.Headers.Accept.ToString();
            if (accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
            {
                return WriteAsync(response, "text/html;charset=UTF-8", $"<!DOCTYPE html>\n<html><head><title>CallMedia</title></head><body><p>{text}</p></body></html>\n");
            }

            return WriteAsync(response, XmlContentType, $"{Declaration}<error number=\"{number}\">{text}</error>");
        }
    }
}
