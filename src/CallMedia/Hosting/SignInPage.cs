namespace CallMedia.Hosting;

/// <summary>The sign-in page that 302 answers point to: a plain form posting to the Log In Service.</summary>
public static class SignInPage
{
    private const string Html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>CallMedia sign-in</title></head>
        <body>
        <h1>CallMedia</h1>
        <form method="post" action="/callrec/loginservlet">
        <p><label>Name <input name="loginname" autocomplete="username" required></label></p>
        <p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
        <p><button type="submit">Sign in</button></p>
        </form>
        </body></html>

        """;

    public static IResult Render() => Results.Content(Html, "text/html;charset=UTF-8");
}
