"""Link preview cards: fetch a link post's page safely and keep its title and description.

- `fetching`: `fetch_preview(url)`, the network part. It is a server-side request to an address
  a user chose, so it guards against server-side request forgery:
  only http and https, no credentials in the URL, no proxies from the environment; the host is
  resolved once and the fetch is refused when ANY of its addresses is not public (`addresses`);
  the connection then goes to the vetted address itself (`PinnedAdapter`), so a second DNS answer
  cannot send it elsewhere (DNS rebinding); redirects are followed by hand, at most three, every
  hop checked the same way; a connect timeout and one deadline for the whole fetch, a body read
  in chunks and cut at 512 KB, and only `text/html` is read at all.
- `parsing`: the page is parsed with the standard library's `html.parser`; what comes back is
  plain text, whitespace-collapsed and capped. Templates escape it like any other user text.
- `services`: `post_link_preview(post_id=...)`, what the `posts.tasks.fetch_link_preview` task
  calls: it loads the post, skips what has nothing to do, fetches, and stores the card (or the
  reason it could not be made) in `Post.link_preview`.
"""
