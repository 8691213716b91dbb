using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMedia.Api;

/// <summary>Thrown while reading a request that is not valid; the endpoint filter answers it as a 400 problem.</summary>
public sealed class ApiInputException(string detail, string? field = null) : Exception(detail)
{
    public string? Field { get; } = field;
}

/// <summary>The one writer of <c>application/problem+json</c> answers (RFC 9457) for /api/v1.</summary>
public static class ApiProblems
{
    public static ProblemHttpResult Unauthorized() =>
        Problem(StatusCodes.Status401Unauthorized, "Sign-in required", "No valid session: sign in with POST /api/v1/session.");

    public static ProblemHttpResult AccessDenied() =>
        Problem(StatusCodes.Status401Unauthorized, "Access denied.", "Access denied.");

    public static ProblemHttpResult Forbidden(string detail) => Problem(StatusCodes.Status403Forbidden, "Forbidden", detail);

    public static ProblemHttpResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found", detail);

    public static ProblemHttpResult Conflict(string detail) => Problem(StatusCodes.Status409Conflict, "Conflict", detail);

    public static ProblemHttpResult BadRequest(string detail, string? field = null) =>
        TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status400BadRequest,
            title: "Bad request",
            extensions: field is null ? null : new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [detail] } });

    public static ProblemHttpResult TooMany(HttpContext context, string detail, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return Problem(StatusCodes.Status429TooManyRequests, "Too many requests", detail);
    }

    public static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypeFor(status));

    /// <summary>The framework fills <c>type</c> for the common statuses; these it leaves out.</summary>
    private static string? TypeFor(int status) => status switch
    {
        StatusCodes.Status429TooManyRequests => "https://www.rfc-editor.org/rfc/rfc6585#section-4",
        _ => null,
    };
}
