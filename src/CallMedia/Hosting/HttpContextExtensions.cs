namespace CallMedia.Hosting;

public static class HttpContextExtensions
{
    /// <summary>The client's address as the server sees it (after forwarded headers, where configured).</summary>
    public static string ClientAddress(this HttpContext context) =>
        context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
