'next to the app'
